import express, { type Request, type Response, type Router } from 'express';
import { isObject } from './fixtures';
import type { Roster } from './nrps';
import { sendUnauthorized, type PlatformContext } from './platformContext';
import { SCOPES, type TokenService } from './token';

const TYPES = {
  container: 'application/vnd.ims.lis.v2.lineitemcontainer+json; charset=utf-8',
  lineitem: 'application/vnd.ims.lis.v2.lineitem+json; charset=utf-8',
  results: 'application/vnd.ims.lis.v2.resultcontainer+json; charset=utf-8',
  score: 'application/vnd.ims.lis.v1.score+json',
} as const;
const ACTIVITY = ['Initialized', 'Started', 'InProgress', 'Submitted', 'Completed'];
const GRADING = ['FullyGraded', 'Pending', 'PendingManual', 'Failed', 'NotReady'];

export interface LineItem {
  id: number;
  label: string;
  scoreMaximum: number;
  resourceId: string;
  tag: string;
  resourceLinkId?: string;
}
export interface ScoreRecord {
  lineItemId: number;
  body: Record<string, unknown>;
}
export interface RejectedScore {
  lineItemId: number;
  body: unknown;
  reason: string;
}

/** The course gradebook behind AGS, answering the way Moodle 4.5 does (see the ags-*.json captures). */
export class Gradebook {
  readonly scores: ScoreRecord[] = [];
  readonly rejectedScores: RejectedScore[] = [];
  readonly lineItems = new Map<number, LineItem>();
  private readonly results = new Map<number, Map<string, Record<string, unknown>>>();
  // Moodle's first activity grade item is id 2 (id 1 is the course total).
  private nextId: number;

  constructor(
    private readonly platform: PlatformContext,
    private readonly tokens: TokenService,
    private readonly roster: Roster,
  ) {
    this.nextId = platform.flavour === 'moodle' ? 2 : 1;
  }

  /** Moodle puts `?type_id=<tool type>` on every service URL; tools must keep the query when appending paths. */
  containerUrl(): string {
    return this.withQuery(`${this.platform.origin}/ags/lineitems`);
  }

  itemUrl(id: number, suffix = ''): string {
    return this.withQuery(`${this.platform.origin}/ags/lineitems/${id}${suffix}`);
  }

  /** URL of the grade column of a resource link, created the first time (as the LMS does with the activity). */
  lineItemUrlFor(resourceLink: Record<string, unknown>): string {
    const resourceLinkId = String(resourceLink.id);
    const existing = [...this.lineItems.values()].find((item) => item.resourceLinkId === resourceLinkId);
    const label = typeof resourceLink.title === 'string' ? resourceLink.title : 'LTI activity';
    const item = existing ?? this.create({ label, scoreMaximum: 100, resourceId: '', tag: '', resourceLinkId });
    return this.itemUrl(item.id);
  }

  router(): Router {
    const router = express.Router();
    const text = express.text({ type: () => true });
    router.get('/ags/lineitems', (req, res) => this.guard(req, res, [SCOPES.lineitem, SCOPES.lineitemReadonly], () => {
      const items = [...this.lineItems.values()].filter(
        (item) =>
          (req.query.resource_link_id === undefined || item.resourceLinkId === req.query.resource_link_id) &&
          (req.query.resource_id === undefined || item.resourceId === req.query.resource_id) &&
          (req.query.tag === undefined || item.tag === req.query.tag),
      );
      res.status(200).type(TYPES.container).send(JSON.stringify(items.map((item) => this.present(item))));
    }));
    router.post('/ags/lineitems', text, (req, res) => this.guard(req, res, [SCOPES.lineitem], () => {
      const body = parseJson(req.body);
      if (!isObject(body) || typeof body.label !== 'string' || !(Number(body.scoreMaximum) > 0)) {
        return res.status(400).type(TYPES.lineitem).send('[]');
      }
      const item = this.create({
        label: body.label,
        scoreMaximum: Number(body.scoreMaximum),
        resourceId: typeof body.resourceId === 'string' ? body.resourceId : '',
        tag: typeof body.tag === 'string' ? body.tag : '',
        resourceLinkId: typeof body.resourceLinkId === 'string' ? body.resourceLinkId : undefined,
      });
      // Moodle echoes the posted fields with the new id appended (ags-lineitem-create.json).
      res.status(201).type(TYPES.lineitem).send(JSON.stringify({ ...body, id: this.itemUrl(item.id) }));
    }));
    router.get('/ags/lineitems/:id', (req, res) => this.guard(req, res, [SCOPES.lineitem, SCOPES.lineitemReadonly], () => {
      const item = this.lineItems.get(Number(req.params.id));
      if (!item) return res.status(404).end();
      res.status(200).type(TYPES.lineitem).send(JSON.stringify(this.present(item)));
    }));
    router.post('/ags/lineitems/:id/scores', text, (req, res) => this.guard(req, res, [SCOPES.score], () => {
      this.acceptScore(req, res);
    }));
    router.get('/ags/lineitems/:id/results', (req, res) => this.guard(req, res, [SCOPES.resultReadonly], () => {
      const id = Number(req.params.id);
      if (!this.lineItems.has(id)) return res.status(404).end();
      const all = [...(this.results.get(id)?.values() ?? [])];
      const results = req.query.user_id === undefined ? all : all.filter((r) => r.userId === req.query.user_id);
      res.status(200).type(TYPES.results).send(JSON.stringify(results));
    }));
    return router;
  }

  private acceptScore(req: Request, res: Response): void {
    const lineItemId = Number(req.params.id);
    const item = this.lineItems.get(lineItemId);
    if (!item) {
      res.status(404).end();
      return;
    }
    if ((req.get('content-type') ?? '').split(';')[0]?.trim() !== TYPES.score) {
      res.status(415).end();
      return;
    }
    const raw = typeof req.body === 'string' ? req.body : '';
    const body = parseJson(raw);
    const problem = scoreProblem(body) ?? (isObject(body) && !this.roster.isLearner(String(body.userId)) ? 'user is not a gradable student' : undefined);
    if (problem || !isObject(body)) {
      this.rejectedScores.push({ lineItemId, body, reason: problem ?? 'not a JSON object' });
      // Moodle: 400 whose reason phrase is "Incorrect score received" + the posted JSON, body "[]".
      res.statusMessage = headerSafe(`Incorrect score received${raw}`);
      res.status(400).type(`${TYPES.score}; charset=utf-8`).send('[]');
      return;
    }
    this.scores.push({ lineItemId, body });
    if (typeof body.scoreGiven === 'number') this.recordResult(item, body);
    res.status(200).type(`${TYPES.score}; charset=utf-8`).send('');
  }

  private recordResult(item: LineItem, score: Record<string, unknown>): void {
    const userId = String(score.userId);
    const id = new URL(this.itemUrl(item.id, '/results'));
    id.searchParams.set('user_id', userId);
    const results = this.results.get(item.id) ?? new Map<string, Record<string, unknown>>();
    this.results.set(item.id, results);
    // Moodle rescales the score onto the line item's maximum (7/10 -> 70/100 in ags-results-get.json).
    results.set(userId, {
      id: id.href,
      userId,
      resultScore: (Number(score.scoreGiven) / Number(score.scoreMaximum)) * item.scoreMaximum,
      resultMaximum: item.scoreMaximum,
      comment: score.comment,
      scoreOf: this.itemUrl(item.id),
      timestamp: score.timestamp,
    });
  }

  private create(fields: Omit<LineItem, 'id'>): LineItem {
    const item = { id: this.nextId++, ...fields };
    this.lineItems.set(item.id, item);
    return item;
  }

  private present(item: LineItem): Record<string, unknown> {
    const shown: Record<string, unknown> = {
      id: this.itemUrl(item.id),
      label: item.label,
      scoreMaximum: item.scoreMaximum,
      resourceId: item.resourceId,
      tag: item.tag,
    };
    if (item.resourceLinkId !== undefined) Object.assign(shown, { resourceLinkId: item.resourceLinkId, ltiLinkId: item.resourceLinkId });
    return shown;
  }

  private guard(req: Request, res: Response, anyOf: string[], handle: () => unknown): void {
    if (!this.tokens.allows(req.get('authorization'), anyOf)) {
      sendUnauthorized(res, req.method, req.originalUrl, req.get('accept'));
      return;
    }
    handle();
  }

  private withQuery(url: string): string {
    return this.platform.flavour === 'moodle' ? `${url}?type_id=1` : url;
  }
}

/** The score checks of the AGS spec that Moodle enforces; undefined when the score is acceptable. */
function scoreProblem(body: unknown): string | undefined {
  if (!isObject(body)) return 'not a JSON object';
  if (typeof body.userId !== 'string' || body.userId === '') return 'userId missing';
  if (typeof body.timestamp !== 'string' || Number.isNaN(Date.parse(body.timestamp))) return 'timestamp missing or invalid';
  if (!ACTIVITY.includes(String(body.activityProgress))) return `activityProgress ${String(body.activityProgress)}`;
  if (!GRADING.includes(String(body.gradingProgress))) return `gradingProgress ${String(body.gradingProgress)}`;
  if (body.scoreGiven !== undefined) {
    if (typeof body.scoreGiven !== 'number' || body.scoreGiven < 0) return 'scoreGiven invalid';
    if (typeof body.scoreMaximum !== 'number' || body.scoreMaximum <= 0) return 'scoreMaximum missing or invalid';
  }
  return undefined;
}

function parseJson(text: unknown): unknown {
  try {
    return typeof text === 'string' ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Node refuses reason phrases with control or non-Latin-1 characters. */
function headerSafe(text: string): string {
  return text.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}
