import type { Assignment, Run, Submission } from '../models';

// Assignment, submission and run → JSON. Students see feedback only once released, labelled AI-generated.

export function presentAssignment(a: Assignment) {
  return {
    id: a.id,
    title: a.title,
    instructions: a.instructions,
    rubric: a.rubric,
    models: a.models,
    aggregation: a.aggregation,
    quorum: a.quorum,
    releaseMode: a.releaseMode,
    maxDrafts: a.maxDrafts,
    maxChars: a.maxChars,
    gradePassback: a.gradePassback,
    expectedStudents: a.expectedStudents ?? null,
    bound: a.resourceLinkId !== null,
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
  };
}

export function presentSubmission(s: Submission, opts: { instructor: boolean }) {
  const visible = opts.instructor || s.status === 'released';
  return {
    id: s.id,
    assignmentId: s.assignmentId,
    draftNumber: s.draftNumber,
    status: s.status,
    createdAt: s.createdAt,
    releasedAt: s.releasedAt,
    /** When retention or erasure removed the text; null while it is kept. */
    textRemovedAt: s.textRemovedAt,
    feedback: visible && s.feedback ? { ...s.feedback, overallScore: s.overallScore, label: 'AI-generated feedback' } : null,
    ...(opts.instructor
      ? { aggregate: s.aggregate, gradebook: { status: s.agsStatus, error: s.agsError }, textRemoved: s.text === null }
      : {}),
  };
}

export function presentRun(r: Run) {
  return {
    id: r.id,
    instance: { id: r.instanceId, name: r.instanceSnapshot.name, model: r.instanceSnapshot.model },
    runIndex: r.runIndex,
    status: r.status,
    attempts: r.attempts,
    errorCode: r.errorCode,
    output: r.output,
    tokensIn: r.tokensIn,
    tokensOut: r.tokensOut,
    costMicros: r.costMicros,
    latencyMs: r.latencyMs,
  };
}
