import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths';

// Canvas's developer-key JSON, from lti-config.json with the public URL filled in.

let template: string | undefined;

/** The filled-in configuration; every `$PUBLIC_URL` in the template becomes the tool's public URL. */
export function canvasConfig(publicUrl: string): unknown {
  template ??= fs.readFileSync(path.join(PROJECT_ROOT, 'lti-config.json'), 'utf8');
  const config = JSON.parse(template.split('$PUBLIC_URL').join(publicUrl)) as { extensions?: Array<{ domain?: string }> };
  for (const extension of config.extensions ?? []) extension.domain = new URL(publicUrl).host;
  return config;
}
