// Bulk release on an assignment's progress page: while the server releases the ticked drafts and
// sends their grades to the LMS, the page says how many it is releasing and ignores a second click.
// The page that comes back states the final count. Without JavaScript the form works the same.
(function () {
  var form = document.getElementById('bulk-release');
  var status = document.querySelector('[data-release-status]');
  if (!form || !status) return;
  form.addEventListener('submit', function (event) {
    if (form.getAttribute('data-busy') === '1') {
      event.preventDefault();
      return;
    }
    var count = document.querySelectorAll('input[name="submissionIds"][form="bulk-release"]:checked').length;
    if (count === 0) return; // the server explains what to tick
    form.setAttribute('data-busy', '1');
    status.textContent = 'Releasing ' + count + ' selected draft' + (count === 1 ? '' : 's') +
      ' and sending the grades to the gradebook\u2026 Keep this page open.';
    status.hidden = false;
    document.querySelectorAll('button[form="bulk-release"]').forEach(function (button) {
      button.setAttribute('aria-disabled', 'true');
    });
  });
})();
