// Keeps the counts of an instructor's progress page current while feedback is generated. It asks
// the JSON API every 3 seconds with the page's session (data-ltik on the page's root, since app.js
// removes the ltik from the address bar) and writes numbers and fixed sentences with textContent
// only. Without JavaScript the page shows the counts as they were when it loaded.
(function () {
  var root = document.querySelector('[data-progress-url][data-ltik]');
  if (!root || !window.fetch) return;
  var url = root.getAttribute('data-progress-url');
  var ltik = root.getAttribute('data-ltik');
  var INTERVAL_MS = 3000;

  // The failure sentences come from the page itself (FAILURE_WORDS in src/routes/pages/feedbackViewModels.ts).
  var REASONS = JSON.parse(root.getAttribute('data-failure-words') || '{}');

  function valueAt(body, path) {
    var parts = path.split('.');
    var value = body;
    for (var i = 0; i < parts.length; i += 1) {
      if (value === null || typeof value !== 'object') return 0;
      value = value[parts[i]];
    }
    return typeof value === 'number' && isFinite(value) ? value : 0;
  }

  function dollars(micros) {
    var n = Math.max(0, Math.round(Number(micros) || 0));
    var whole = Math.floor(n / 1000000);
    var frac = String(n % 1000000);
    while (frac.length < 6) frac = '0' + frac;
    frac = frac.replace(/0+$/, '');
    while (frac.length < 2) frac += '0';
    return '$' + whole + '.' + frac;
  }

  // The same words as the page (feedbackViewModels.ts timeLeftWords).
  function timeLeft(seconds) {
    if (typeof seconds !== 'number' || !isFinite(seconds)) return '';
    if (seconds < 60) return 'about a minute left';
    var minutes = Math.round(seconds / 60);
    if (minutes < 90) return 'about ' + minutes + ' minute' + (minutes === 1 ? '' : 's') + ' left';
    var hours = Math.round(minutes / 60);
    return 'about ' + hours + ' hour' + (hours === 1 ? '' : 's') + ' left';
  }

  function renderFailures(failures) {
    var list = root.querySelector('[data-progress-failures]');
    var none = root.querySelector('[data-progress-nofailures]');
    if (!list) return;
    while (list.firstChild) list.removeChild(list.firstChild);
    var codes = Object.keys(failures || {});
    codes.forEach(function (code) {
      var item = document.createElement('li');
      var count = document.createElement('span');
      count.className = 'failure-count';
      count.textContent = String(valueAt(failures, code));
      item.appendChild(count);
      item.appendChild(document.createTextNode(' \u00d7 ' + (REASONS[code] || REASONS.unknown || code)));
      list.appendChild(item);
    });
    if (none) none.hidden = codes.length > 0;
  }

  var first = true;
  var lastSubmissions = null;
  function update(body) {
    var changed = false;
    root.querySelectorAll('[data-progress]').forEach(function (el) {
      var text = String(valueAt(body, el.getAttribute('data-progress')));
      if (el.textContent !== text) {
        el.textContent = text;
        changed = true;
      }
    });
    renderFailures(body.failures);
    var spend = root.querySelector('[data-progress-spend]');
    if (spend) spend.textContent = dollars(body.spendMicros);
    var unpriced = root.querySelector('[data-progress-unpriced]');
    if (unpriced) unpriced.hidden = !valueAt(body, 'unpricedRuns');
    var budget = root.querySelector('[data-progress-budget]');
    if (budget) budget.hidden = !valueAt(body, 'waitingForBudget');
    var eta = root.querySelector('[data-progress-eta]');
    var etaText = root.querySelector('[data-progress-eta-text]');
    var words = timeLeft(body.etaSeconds);
    if (eta) eta.hidden = !words;
    if (etaText) etaText.textContent = words;

    // The list below the counts is from page load: offer a reload once the submissions change.
    var signature = JSON.stringify(body.submissions || {});
    if (lastSubmissions !== null && signature !== lastSubmissions) {
      var stale = root.querySelector('[data-progress-stale]');
      if (stale) stale.hidden = false;
    }
    lastSubmissions = signature;

    if (changed && !first) {
      var announce = root.querySelector('[data-progress-announce]');
      if (announce) {
        announce.textContent = 'Progress updated: ' + valueAt(body, 'submissions.released') + ' released, ' +
          (valueAt(body, 'submissions.ready') + valueAt(body, 'submissions.needs_review')) + ' waiting for review, ' +
          (valueAt(body, 'submissions.queued') + valueAt(body, 'submissions.running')) + ' being generated, ' +
          valueAt(body, 'waitingForBudget') + ' runs waiting for budget.';
      }
    }
    first = false;
  }

  function poll() {
    fetch(url, { headers: { Authorization: 'Bearer ' + ltik, Accept: 'application/json' }, credentials: 'omit', cache: 'no-store' })
      .then(function (res) {
        // An ended session or a removed assignment: stop asking.
        if (res.status === 401 || res.status === 403 || res.status === 404) return null;
        return res.ok ? res.json() : undefined;
      })
      .then(function (body) {
        if (body === null) return;
        if (body && typeof body === 'object') update(body);
        window.setTimeout(poll, INTERVAL_MS);
      })
      .catch(function () {
        window.setTimeout(poll, INTERVAL_MS);
      });
  }
  poll();
})();
