// Finds the rubric criteria (ids, maximum scores, titles) in an OpenAI chat request. The prompt format
// is owned elsewhere and may change, so this tries, in order:
//   1. response_format.json_schema.schema: a `criterionId` property with `enum`/`const` ids (and a
//      `score.maximum` next to it, when the schema has one);
//   2. JSON embedded in the system message (json_object mode appends the schema there; a rubric may
//      be pasted as JSON objects with `id` and `maxScore`/`max_score`/`max`/`points`);
//   3. a regex over the system text for `id: <id>` (also `Criterion id: "<id>"`), `"id": "<id>"` or
//      `(id <id>)`, with `maxScore <n>` / `max <n>` / `out of <n>` / `points: <n>` / `0-<n>` on the same
//      line or before the next id, and `name:`/`title:` for the wording.
// Nothing found: one criterion `overall` out of 10.

export interface CriterionSpec {
  id: string;
  maxScore: number;
  /** A human label for the feedback sentences (the rubric's title, else the id made readable). */
  title: string;
}

export interface ChatMessageLike {
  role?: unknown;
  content?: unknown;
}

export const DEFAULT_MAX_SCORE = 10;
export const FALLBACK_CRITERION: Readonly<CriterionSpec> = Object.freeze({ id: 'overall', maxScore: DEFAULT_MAX_SCORE, title: 'overall quality' });

const MAX_IDS = 100;
const MAX_SCAN_CHARS = 400_000;

/** The text of a message's content: a string, or the text parts of an array of content parts. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : ''))
      .filter((t) => t.length > 0)
      .join('\n');
  }
  return '';
}

/** The criteria this request asks feedback for; never empty. */
export function findCriteria(messages: ChatMessageLike[], responseFormat?: unknown): CriterionSpec[] {
  const systemText = messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => textOf(m.content))
    .join('\n\n');
  const found = criteriaIn(schemaOf(responseFormat), systemText);
  if (found.length > 0) return found;
  // The rubric may travel in a user turn instead; only looked at when the system turn has none.
  const userText = messages
    .filter((m) => m.role === 'user')
    .map((m) => textOf(m.content))
    .join('\n\n');
  const fromUser = criteriaIn(undefined, userText);
  return fromUser.length > 0 ? fromUser : [{ ...FALLBACK_CRITERION }];
}

function schemaOf(responseFormat: unknown): unknown {
  if (!isRecord(responseFormat) || !isRecord(responseFormat.json_schema)) return undefined;
  return responseFormat.json_schema.schema;
}

function criteriaIn(schema: unknown, rawText: string): CriterionSpec[] {
  const text = rawText.length > MAX_SCAN_CHARS ? rawText.slice(0, MAX_SCAN_CHARS) : rawText;
  const fromSchema = new SchemaFindings();
  if (schema !== undefined) fromSchema.walk(schema, 0);

  const embedded = jsonObjectsIn(text);
  const fromEmbeddedSchema = new SchemaFindings();
  const rubricObjects = new Map<string, { max?: number; title?: string }>();
  for (const value of embedded) {
    fromEmbeddedSchema.walk(value, 0);
    collectRubricObjects(value, rubricObjects, 0);
  }
  const fromText = textCriteria(text);

  let ids: string[];
  if (fromSchema.ids.length > 0) ids = fromSchema.ids;
  else if (fromEmbeddedSchema.ids.length > 0) ids = fromEmbeddedSchema.ids;
  else if (rubricObjects.size > 0) ids = [...rubricObjects.keys()];
  else ids = fromText.map((c) => c.id);
  ids = unique(ids).slice(0, MAX_IDS);

  const textById = new Map(fromText.map((c) => [c.id, c]));
  return ids.map((id) => {
    const rubric = rubricObjects.get(id);
    const textual = textById.get(id);
    const max =
      fromSchema.maxById.get(id) ??
      fromEmbeddedSchema.maxById.get(id) ??
      rubric?.max ??
      textual?.max ??
      maxNearMention(text, id, ids) ??
      fromSchema.sharedMax ??
      fromEmbeddedSchema.sharedMax ??
      DEFAULT_MAX_SCORE;
    const title = rubric?.title ?? textual?.title ?? readable(id);
    return { id, maxScore: max, title };
  });
}

// ---- JSON Schema ---------------------------------------------------------------------------------

class SchemaFindings {
  ids: string[] = [];
  maxById = new Map<string, number>();
  sharedMax: number | undefined;

  walk(node: unknown, depth: number): void {
    if (depth > 40) return;
    if (Array.isArray(node)) {
      for (const item of node) this.walk(item, depth + 1);
      return;
    }
    if (!isRecord(node)) return;
    const props = node.properties;
    if (isRecord(props) && isRecord(props.criterionId)) {
      const idSchema = props.criterionId;
      const max = isRecord(props.score) ? plausibleMax(props.score.maximum) : undefined;
      const ids: string[] = [];
      if (typeof idSchema.const === 'string') ids.push(idSchema.const);
      if (Array.isArray(idSchema.enum)) ids.push(...idSchema.enum.filter((v): v is string => typeof v === 'string'));
      this.ids.push(...ids);
      if (max !== undefined) {
        if (ids.length === 1) this.maxById.set(ids[0]!, max);
        else this.sharedMax = Math.max(this.sharedMax ?? 0, max);
      }
    }
    for (const value of Object.values(node)) this.walk(value, depth + 1);
  }
}

const MAX_KEYS = ['maxScore', 'max_score', 'maxPoints', 'max_points', 'max', 'points', 'outOf'];
const TITLE_KEYS = ['title', 'name', 'label'];

function collectRubricObjects(node: unknown, into: Map<string, { max?: number; title?: string }>, depth: number): void {
  if (depth > 40) return;
  if (Array.isArray(node)) {
    for (const item of node) collectRubricObjects(item, into, depth + 1);
    return;
  }
  if (!isRecord(node)) return;
  const id = typeof node.id === 'string' ? node.id.trim() : '';
  if (id && plausibleId(id) && !into.has(id)) {
    const maxKey = MAX_KEYS.find((k) => plausibleMax(node[k]) !== undefined);
    if (maxKey !== undefined) {
      const titleKey = TITLE_KEYS.find((k) => typeof node[k] === 'string' && (node[k] as string).trim().length > 0);
      const entry: { max?: number; title?: string } = { max: plausibleMax(node[maxKey])! };
      if (titleKey !== undefined) entry.title = shortTitle(node[titleKey] as string);
      into.set(id, entry);
    }
  }
  for (const value of Object.values(node)) collectRubricObjects(value, into, depth + 1);
}

/** Top-level JSON objects that appear in running text (balanced braces that JSON.parse accepts). */
function jsonObjectsIn(text: string): unknown[] {
  const found: unknown[] = [];
  let attempts = 0;
  let i = text.indexOf('{');
  while (i !== -1 && attempts < 500) {
    attempts += 1;
    const end = matchingBrace(text, i);
    if (end !== -1) {
      try {
        found.push(JSON.parse(text.slice(i, end + 1)));
        i = text.indexOf('{', end + 1);
        continue;
      } catch {
        // not JSON; try the next brace
      }
    }
    i = text.indexOf('{', i + 1);
  }
  return found;
}

function matchingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let j = start; j < text.length; j += 1) {
    const ch = text[j];
    if (inString) {
      if (ch === '\\') j += 1;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') depth += 1;
    else if (ch === '}') {
      depth -= 1;
      if (depth === 0) return j;
    }
  }
  return -1;
}

// ---- Plain text ----------------------------------------------------------------------------------

const BRACKETED_ID = /[([]\s*id\s+[`'"]?([A-Za-z0-9_][\w.:-]{0,99})/gi; // (id thesis), [id thesis]
const ID_PATTERNS: RegExp[] = [
  /"id"\s*:\s*"([^"\n]{1,100})"/g, // "id": "thesis"
  // id: thesis, ID = thesis, Criterion id: "thesis 1"
  /(?<![\w$"'-])id\s*[:=]\s*(?:"([^"\n]{1,100})"|'([^'\n]{1,100})'|`?([A-Za-z0-9_][\w.:-]{0,99}))/gi,
  BRACKETED_ID,
];

// Strongest first: a segment's `maxScore 4` beats an "out of 5 sources" in its description.
const MAX_SCORE_PATTERN = /\bmax(?:imum)?[\s_-]*(?:score|points?|marks?)["']?\s*(?:[:=]|of)?\s*(\d+(?:\.\d+)?)/i;
const MAX_PATTERN =
  /(?:\b(?:max(?:imum)?(?:\s+of)?|out\s+of)["']?\s*[:=]?\s*|\bpoints["']?\s*[:=]\s*)(\d+(?:\.\d+)?)/i;
const POINTS_PATTERN = /(\d+(?:\.\d+)?)\s*(?:points?|pts|marks?)\b|\b0\s*(?:-|\u2013|to)\s*(\d+(?:\.\d+)?)\b/gi;
const SEGMENT_CHARS = 4000;
const TITLE_PATTERN = /(?:"(?:title|name)"\s*:\s*"([^"\n]{1,120})"|\b(?:title|name)\s*:\s*([^\n,;|(){}[\]]{1,120}))/i;

interface TextCriterion {
  id: string;
  max?: number;
  title?: string;
}

function textCriteria(text: string): TextCriterion[] {
  const hits: Array<{ index: number; end: number; id: string; bracketed: boolean }> = [];
  for (const pattern of ID_PATTERNS) {
    for (const m of text.matchAll(pattern)) {
      const id = cleanId(m[1] ?? m[2] ?? m[3] ?? '');
      if (id && plausibleId(id)) hits.push({ index: m.index, end: m.index + m[0].length, id, bracketed: pattern === BRACKETED_ID });
    }
  }
  hits.sort((a, b) => a.index - b.index);
  const result: TextCriterion[] = [];
  const seen = new Set<string>();
  for (let k = 0; k < hits.length; k += 1) {
    const hit = hits[k]!;
    if (seen.has(hit.id)) continue;
    seen.add(hit.id);
    const next = hits.slice(k + 1).find((h) => h.index >= hit.end);
    // A criterion's details run to the next id, within reason (the last one must not reach the
    // output instructions at the end of the prompt).
    const segment = text.slice(hit.end, Math.min(next ? next.index : text.length, hit.end + SEGMENT_CHARS));
    const line = lineAround(text, hit.index);
    const lineEnd = line.start + line.text.length;
    const sameLineAfter = text.slice(hit.end, Math.min(lineEnd, next ? next.index : lineEnd));
    const previous = k > 0 ? hits[k - 1]! : undefined;
    const sameLineBefore = text.slice(Math.max(line.start, previous ? previous.end : 0), hit.index);
    // Same line first ("- id: a, max 4" / "[max 4] A (id a)"), then the lines up to the next id.
    const criterion: TextCriterion = { id: hit.id };
    const max = firstMax(sameLineAfter) ?? firstMax(sameLineBefore) ?? firstMax(segment);
    if (max !== undefined) criterion.max = max;
    const title =
      titleIn(sameLineAfter) ?? titleIn(sameLineBefore) ?? titleIn(segment) ?? (hit.bracketed ? headingBefore(sameLineBefore) : undefined);
    if (title !== undefined) criterion.title = title;
    result.push(criterion);
  }
  return result;
}

/**
 * For ids known from a schema but written differently in the prose ("thesis (Thesis) max 4"): a max
 * after a mention of the id, on the same line and before the next id of the rubric.
 */
function maxNearMention(text: string, id: string, allIds: string[]): number | undefined {
  const pattern = new RegExp(`(?<![\\w-])${escapeRegExp(id)}(?![\\w-])`, 'g');
  const others = allIds.filter((other) => other !== id).map((other) => new RegExp(`(?<![\\w-])${escapeRegExp(other)}(?![\\w-])`));
  for (const m of text.matchAll(pattern)) {
    const line = lineAround(text, m.index);
    let rest = line.text.slice(m.index - line.start + m[0].length);
    for (const other of others) {
      const at = rest.search(other);
      if (at !== -1) rest = rest.slice(0, at);
    }
    const max = firstMax(rest);
    if (max !== undefined) return max;
  }
  return undefined;
}

/** `maxScore: 4` / `max score 4`; else `max 4`, `out of 4`, `points: 4`; else the largest of `4 points` / `0-4`. */
function firstMax(segment: string): number | undefined {
  const m = MAX_SCORE_PATTERN.exec(segment) ?? MAX_PATTERN.exec(segment);
  if (m) return plausibleMax(Number(m[1]));
  let largest: number | undefined;
  for (const p of segment.matchAll(POINTS_PATTERN)) {
    const value = plausibleMax(Number(p[1] ?? p[2]));
    if (value !== undefined && (largest === undefined || value > largest)) largest = value;
  }
  return largest;
}

function titleIn(segment: string): string | undefined {
  const m = TITLE_PATTERN.exec(segment);
  const raw = m?.[1] ?? m?.[2];
  return raw && raw.trim() ? shortTitle(raw) : undefined;
}

/** "## 2. Use of evidence (id evidence)" → "Use of evidence". */
function headingBefore(before: string): string | undefined {
  const t = before
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/^[\s#*>\-\u2022\d.)]+/, '')
    .replace(/[\s([:\-\u2013\u2014|,]+$/, '')
    .trim();
  return t.length >= 2 && t.length <= 60 && /[A-Za-z]/.test(t) && !/[{}"]/.test(t) ? shortTitle(t) : undefined;
}

function lineAround(text: string, index: number): { start: number; text: string } {
  const start = text.lastIndexOf('\n', index - 1) + 1;
  const endAt = text.indexOf('\n', index);
  return { start, text: text.slice(start, endAt === -1 ? undefined : endAt) };
}

// ---- Helpers -------------------------------------------------------------------------------------

function cleanId(raw: string): string {
  return raw.trim().replace(/[.:-]+$/, '');
}

function plausibleId(id: string): boolean {
  return id.length > 0 && id.length <= 100 && !/[\n\r\t]/.test(id);
}

function plausibleMax(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= 10_000 ? value : undefined;
}

function shortTitle(raw: string): string {
  const t = raw.trim().replace(/\s+/g, ' ');
  return t.length > 60 ? `${t.slice(0, 57).trimEnd()}...` : t;
}

/** thesis_statement → "thesis statement"; organizationAndFlow → "organization and flow". */
export function readable(id: string): string {
  const spaced = id
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_\-.:]+/g, ' ')
    .trim()
    .toLowerCase();
  return spaced || id;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
