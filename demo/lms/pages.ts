import type { CourseLink, Person } from './course';

// The demo LMS's HTML. Plain template strings: four small pages, every value escaped.

const escape = (text: unknown): string =>
  String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const STYLE = `
  *, *::before, *::after { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1b1b1b; background: #f3f1ec; }
  .lms-bar { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: baseline; padding: .5rem 1rem; background: #3b2f63; color: #fff; }
  .lms-name { font-weight: 700; }
  main { max-width: 1280px; margin: 0 auto; padding: 0 1rem 2rem; }
  h1 { font-size: 1.5rem; margin: 1rem 0 .25rem; }
  h2 { font-size: 1.15rem; margin: .25rem 0 .5rem; }
  h3 { font-size: 1rem; margin: .75rem 0 .25rem; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  .panel { background: #fff; border: 1px solid #c9c4b8; border-radius: 6px; padding: .5rem .75rem; margin-top: .75rem; }
  .launches { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: .5rem; }
  .launches form { margin: 0; }
  button { font: inherit; padding: .4rem .8rem; border: 1px solid #3b2f63; border-radius: 4px; background: #fff; color: #3b2f63; cursor: pointer; }
  button.primary { background: #3b2f63; color: #fff; }
  button:focus-visible, a:focus-visible, iframe:focus-visible { outline: 3px solid #c25400; outline-offset: 2px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #ddd8cc; vertical-align: top; }
  .notice { border-left: 4px solid #2f6b2f; background: #eef6ee; padding: .5rem .75rem; }
  .muted { color: #55504a; }
  .tool-frame { display: block; width: 100%; height: 900px; border: 1px solid #8a8478; border-radius: 4px; background: #fff; }
`;

function layout(title: string, body: string, nonce: string, script = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · Demo LMS</title>
<style>${STYLE}</style>
</head>
<body>
<header class="lms-bar"><span class="lms-name">Demo LMS</span><span>For trying FeedForward on your computer. Never use it in production.</span></header>
<main id="main">
${body}
</main>
${script ? `<script nonce="${escape(nonce)}">${script}</script>` : ''}
</body>
</html>`;
}

type LoginForm = { action: string; fields: Record<string, string> };

function launchButton(form: LoginForm, label: string, primary = false): string {
  const hidden = Object.entries(form.fields).map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`).join('');
  return `<form method="post" action="${escape(form.action)}" target="tool-frame">${hidden}<button type="submit"${primary ? ' class="primary"' : ''}>${escape(label)}</button></form>`;
}

export interface CoursePageData {
  course: { title: string; label: string };
  people: Person[];
  courseLink: CourseLink;
  links: CourseLink[];
  grades: Array<{ assignment: string; student: string; score: string; comment: string; when: string }>;
  loginForm(person: Person, link: CourseLink | undefined, type: 'LtiResourceLinkRequest' | 'LtiDeepLinkingRequest'): LoginForm;
  /** Title of the assignment deep linking just added. */
  added?: string;
  nonce: string;
}

/** The course: launch buttons for each person, the assignments, the gradebook, and the frame the tool opens in. */
export function coursePage(data: CoursePageData): string {
  const [admin, instructor, student] = ['admin', 'instructor', 'student'].map((key) => data.people.find((p) => p.key === key)!) as [Person, Person, Person];
  const assignments = data.links.length
    ? `<table><thead><tr><th scope="col">Assignment</th><th scope="col">Open it</th></tr></thead><tbody>${data.links
        .map(
          (link) => `<tr><td>${escape(link.title)}</td><td><ul class="launches">
            <li>${launchButton(data.loginForm(instructor, link, 'LtiResourceLinkRequest'), `Open “${link.title}” as ${instructor.name}`)}</li>
            <li>${launchButton(data.loginForm(student, link, 'LtiResourceLinkRequest'), `Open “${link.title}” as ${student.name}`)}</li>
          </ul></td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted">No assignment yet. Add one with the button above, as the instructor.</p>';
  const grades = data.grades.length
    ? `<table><thead><tr><th scope="col">Assignment</th><th scope="col">Student</th><th scope="col">Grade</th><th scope="col">Comment</th></tr></thead><tbody>${data.grades
        .map((g) => `<tr><td>${escape(g.assignment)}</td><td>${escape(g.student)}</td><td>${escape(g.score)}</td><td>${escape(g.comment)}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p class="muted">No grade has been sent yet. Released feedback with grade passback appears here.</p>';
  const body = `
<h1>${escape(data.course.title)}</h1>
<p class="muted">Course ${escape(data.course.label)}. People: ${data.people.map((p) => `${escape(p.name)} (${escape(p.roleLabel)})`).join(', ')}.</p>
${data.added ? `<p class="notice" role="status">Assignment added: “${escape(data.added)}”.</p>` : ''}
<section class="panel" aria-labelledby="open-h">
  <h2 id="open-h">Open FeedForward</h2>
  <p class="muted">Each button makes a real LTI 1.3 launch of the tool into the frame below, as that person.</p>
  <ul class="launches">
    <li>${launchButton(data.loginForm(admin, data.courseLink, 'LtiResourceLinkRequest'), `Open FeedForward as ${admin.name} (administrator)`, true)}</li>
    <li>${launchButton(data.loginForm(instructor, data.courseLink, 'LtiResourceLinkRequest'), `Open FeedForward as ${instructor.name} (instructor)`)}</li>
    <li>${launchButton(data.loginForm(instructor, undefined, 'LtiDeepLinkingRequest'), `Add assignment (deep linking) as ${instructor.name}`, true)}</li>
  </ul>
  <h3 id="assignments-h">Assignments</h3>
  ${assignments}
</section>
<section class="panel" aria-labelledby="tool-h">
  <h2 id="tool-h" class="visually-hidden">FeedForward</h2>
  <iframe class="tool-frame" id="tool-frame" name="tool-frame" title="FeedForward, launched from this course" src="about:blank"></iframe>
</section>
<section class="panel" aria-labelledby="grades-h">
  <h2 id="grades-h">Gradebook</h2>
  <div id="gradebook">${grades}</div>
</section>`;
  return layout(data.course.title, body, data.nonce);
}

/** The authentication response: an auto-submitting form_post of the id_token to the tool (with a button without JavaScript). */
export function authResponsePage(data: { action: string; fields: Record<string, string>; nonce: string }): string {
  const hidden = Object.entries(data.fields).map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`).join('');
  return layout(
    'Opening FeedForward',
    `<h1>Opening FeedForward…</h1><form id="launch" method="post" action="${escape(data.action)}">${hidden}<noscript><button type="submit">Continue</button></noscript></form>`,
    data.nonce,
    "document.getElementById('launch').submit();",
  );
}

/** Shown in the frame after deep linking; it takes the whole page back to the course, where the new assignment is listed. */
export function deepLinkDonePage(data: { title: string; courseUrl: string; nonce: string }): string {
  return layout(
    'Assignment added',
    `<h1>Assignment added</h1><p>“${escape(data.title)}” is now in the course. <a href="${escape(data.courseUrl)}" target="_top">Back to the course</a></p>`,
    data.nonce,
    `window.top.location.assign(${JSON.stringify(data.courseUrl).replace(/</g, '\\u003c')});`,
  );
}

export function messagePage(title: string, text: string, nonce: string): string {
  return layout(title, `<h1>${escape(title)}</h1><p>${escape(text)}</p><p><a href="/" target="_top">Back to the course</a></p>`, nonce);
}
