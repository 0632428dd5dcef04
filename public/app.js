// Keeps the session token (ltik) out of the address bar, history and bookmarks once a page has loaded.
(function () {
  var url = new URL(window.location.href);
  if (url.searchParams.has('ltik')) {
    url.searchParams.delete('ltik');
    window.history.replaceState(null, '', url.pathname + (url.search || '') + url.hash);
  }
})();
