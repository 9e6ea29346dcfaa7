// Outcome page: while the booking is pending, ask GET /api/v1/bookings/{id} every 2 s and
// reload once it is settled. Without JavaScript a <meta refresh> does the same.
(function () {
  'use strict';
  var box = document.querySelector('[data-poll]');
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute('data-poll');
  var tries = 0, MAX = 150;
  function tick() {
    tries++;
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (b) {
        if (b && b.status && b.status !== 'pending') { window.location.reload(); return; }
        next();
      })
      .catch(next);
  }
  function next() {
    if (tries < MAX) { setTimeout(tick, 2000); return; }
    var note = document.getElementById('poll-note');
    if (note) { note.textContent = box.getAttribute('data-stale'); }
  }
  setTimeout(tick, 2000);
}());
