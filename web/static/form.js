// Booking form: rooms filtered by office, and a live view of the chosen room's day in
// both systems (GET /api/v1/availability) plus where the booking will go
// (GET /api/v1/route). The form works without this script.
(function () {
  'use strict';
  var form = document.getElementById('booking-form');
  if (!form) { return; }
  var office = document.getElementById('office');
  var room = document.getElementById('room_id');
  var date = document.getElementById('date');
  var start = document.getElementById('start');
  var end = document.getElementById('end');
  var live = document.getElementById('live');
  var routeLine = document.getElementById('route');
  var timeline = document.getElementById('timeline');
  var L = JSON.parse(live.getAttribute('data-labels') || '{}');
  var exceptStart = live.getAttribute('data-except-start');
  var exceptEnd = live.getAttribute('data-except-end');
  var FIRST = 7 * 60, LAST = 22 * 60;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text) { e.textContent = text; }
    return e;
  }
  function validDate(v) { return /^\d{4}-\d{2}-\d{2}$/.test(v); }
  function validTime(v) { return /^\d{2}:\d{2}(:\d{2})?$/.test(v); }
  function clockMinutes(v) { return parseInt(v.slice(0, 2), 10) * 60 + parseInt(v.slice(3, 5), 10); }
  // The API answers in the service's zone, so the local date and time can be read off the string.
  function minutesOn(iso, day) {
    var d = iso.slice(0, 10);
    if (d < day) { return 0; }
    if (d > day) { return 24 * 60; }
    return clockMinutes(iso.slice(11, 16));
  }
  function nextDay(day) {
    var t = new Date(Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10) + 1));
    return t.toISOString().slice(0, 10);
  }
  function getJSON(url, ok, fail) {
    if (!window.fetch) { return; }
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) { if (res.ok) { ok(res.body); } else { fail(res.body); } })
      .catch(function () { fail(null); });
  }

  // Rooms: one <optgroup> per office; choosing an office keeps only its rooms.
  var groups = [];
  Array.prototype.forEach.call(room.querySelectorAll('optgroup'), function (g) { groups.push(g.cloneNode(true)); });
  function filterRooms() {
    var keep = room.value;
    Array.prototype.forEach.call(room.querySelectorAll('optgroup'), function (g) { room.removeChild(g); });
    groups.forEach(function (g) {
      if (!office.value || g.getAttribute('data-office') === office.value) { room.appendChild(g.cloneNode(true)); }
    });
    room.value = keep;
    if (room.value !== keep) { room.value = ''; }
  }
  office.addEventListener('change', function () { filterRooms(); refresh(); });
  if (office.value) { filterRooms(); }

  // Attendees: a filter box for long lists.
  var filter = document.getElementById('people-filter');
  var people = document.getElementById('people');
  if (filter && people) {
    filter.hidden = false;
    filter.addEventListener('input', function () {
      var q = filter.value.trim().toLowerCase();
      Array.prototype.forEach.call(people.querySelectorAll('.check'), function (c) {
        c.style.display = !q || c.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
      });
    });
  }

  function showRoute(r) {
    routeLine.textContent = '';
    routeLine.className = 'route' + (r.frozen ? ' frozen' : '');
    routeLine.appendChild(el('span', '', L.goesTo));
    routeLine.appendChild(el('strong', 'sys ' + r.backend, r.label));
    routeLine.appendChild(document.createTextNode(' — ' + r.reason));
    if (r.note) {
      routeLine.appendChild(el('br'));
      routeLine.appendChild(el('span', 'note', r.note));
    }
  }

  function showTimeline(items, day) {
    var busy = items.filter(function (b) { return !(b.start === exceptStart && b.end === exceptEnd); });
    var mine = null;
    if (validTime(start.value) && validTime(end.value) && clockMinutes(end.value) > clockMinutes(start.value)) {
      mine = { a: clockMinutes(start.value), b: clockMinutes(end.value) };
    }
    var first = FIRST, last = LAST;
    busy.forEach(function (b) {
      b.a = minutesOn(b.start, day);
      b.b = minutesOn(b.end, day);
      first = Math.min(first, Math.floor(b.a / 60) * 60);
      last = Math.max(last, Math.ceil(b.b / 60) * 60);
    });
    if (mine) {
      first = Math.min(first, Math.floor(mine.a / 60) * 60);
      last = Math.max(last, Math.ceil(mine.b / 60) * 60);
    }
    function pct(m) { return ((m - first) / (last - first) * 100).toFixed(2) + '%'; }
    function place(e, a, b) { e.style.left = pct(a); e.style.width = ((b - a) / (last - first) * 100).toFixed(2) + '%'; }

    var track = el('div', 'track');
    for (var m = first; m <= last; m += 60) {
      var t = el('span', 'tick', (m / 60 < 10 ? '0' : '') + m / 60);
      t.style.left = pct(m);
      track.appendChild(t);
    }
    var list = el('ul', 'busy');
    var clash = false;
    busy.forEach(function (b) {
      var text = b.start.slice(11, 16) + '–' + b.end.slice(11, 16) + ' ' + (L[b.backend] || b.backend) + ' · ' + (L[b.origin] || b.origin) + (b.title ? ' · ' + b.title : '') + (b.conflict ? ' · ' + L.conflict : '');
      var bar = el('span', 'bar ' + b.backend + ' ' + b.origin + (b.conflict ? ' in-conflict' : ''));
      bar.title = text;
      place(bar, b.a, b.b);
      track.appendChild(bar);
      list.appendChild(el('li', b.backend + ' ' + b.origin + (b.conflict ? ' in-conflict' : ''), text));
      if (mine && b.a < mine.b && mine.a < b.b) { clash = true; }
    });
    if (!busy.length) { list.appendChild(el('li', 'free', L.free)); }
    if (mine) {
      var mb = el('span', 'bar mine' + (clash ? ' clash' : ''));
      mb.title = L.mine;
      place(mb, mine.a, mine.b);
      track.appendChild(mb);
    }
    timeline.textContent = '';
    timeline.appendChild(track);
    timeline.appendChild(list);
    if (clash) { timeline.appendChild(el('p', 'clash-note', L.clash)); }
  }

  var seq = 0, timer = null;
  function refresh() {
    // Suggestions were for the time that was refused; they go once it changes.
    var sg = document.getElementById('suggest');
    if (sg) { sg.hidden = true; }
    clearTimeout(timer);
    timer = setTimeout(update, 200);
  }
  function update() {
    var n = ++seq;
    var day = date.value;
    if (validDate(day) && validTime(start.value)) {
      getJSON('/api/v1/route?start=' + encodeURIComponent(day + 'T' + start.value.slice(0, 5)),
        function (r) { if (n === seq) { showRoute(r); } }, function () {});
    }
    if (!room.value || !validDate(day)) {
      timeline.textContent = '';
      timeline.appendChild(el('p', 'muted', L.choose));
      return;
    }
    var q = '?room=' + encodeURIComponent(room.value) + '&from=' + day + 'T00:00&to=' + nextDay(day) + 'T00:00';
    getJSON('/api/v1/availability' + q,
      function (items) { if (n === seq) { showTimeline(items, day); } },
      function () { if (n === seq) { timeline.textContent = ''; timeline.appendChild(el('p', 'muted', L.failed)); } });
  }
  [room, date, start, end].forEach(function (e) {
    e.addEventListener('change', refresh);
    e.addEventListener('input', refresh);
  });

  // Repeat: the occurrences of the series (GET /api/v1/series/plan), each with the system
  // it goes to and whether its slot is taken in either system.
  var repeat = document.getElementById('repeat');
  var plan = document.getElementById('plan');
  var weekdays = document.getElementById('weekdays');
  var until = document.getElementById('until');
  var count = document.getElementById('count');
  var planSeq = 0, planTimer = null;
  function rrule() {
    var r = repeat.value;
    if (!r || !validDate(date.value)) { return ''; }
    var wd = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'][new Date(date.value + 'T00:00:00Z').getUTCDay()];
    var p;
    if (r === 'daily') {
      p = ['FREQ=DAILY'];
    } else if (r === 'weekly') {
      var days = [];
      Array.prototype.forEach.call(weekdays.querySelectorAll('input:checked'), function (c) { days.push(c.value); });
      p = ['FREQ=WEEKLY', 'BYDAY=' + (days.length ? days.join(',') : wd)];
    } else if (r === 'monthly_date') {
      p = ['FREQ=MONTHLY', 'BYMONTHDAY=' + parseInt(date.value.slice(8, 10), 10)];
    } else {
      p = ['FREQ=MONTHLY', 'BYDAY=-1' + wd];
    }
    if (count.value) { p.push('COUNT=' + count.value); } else if (validDate(until.value)) { p.push('UNTIL=' + until.value.replace(/-/g, '')); }
    return p.join(';');
  }
  function showPlan(rows) {
    plan.textContent = '';
    var list = el('ol', 'occurrences');
    rows.forEach(function (o) {
      var li = el('li', o.taken ? 'taken' : 'free');
      li.setAttribute('data-start', o.start);
      li.appendChild(document.createTextNode(o.when + ' · '));
      li.appendChild(el('strong', 'sys ' + o.backend, o.system));
      li.appendChild(document.createTextNode(' · '));
      li.appendChild(o.taken ? el('span', 'taken', o.taken) : document.createTextNode(L.planFree));
      list.appendChild(li);
    });
    plan.appendChild(el('h3', '', L.plan));
    plan.appendChild(list);
  }
  function updatePlan() {
    var n = ++planSeq;
    weekdays.hidden = repeat.value !== 'weekly';
    var rule = rrule();
    if (!rule || !room.value || !validTime(start.value) || !validTime(end.value)) { plan.textContent = ''; return; }
    var q = '?room=' + encodeURIComponent(room.value) + '&start=' + date.value + 'T' + start.value.slice(0, 5) +
      '&end=' + date.value + 'T' + end.value.slice(0, 5) + '&rrule=' + encodeURIComponent(rule);
    getJSON('/api/v1/series/plan' + q,
      function (rows) { if (n === planSeq) { showPlan(rows); } },
      function (b) { if (n === planSeq) { plan.textContent = ''; plan.appendChild(el('p', 'field-error', (b && b.error && b.error.message) || L.failed)); } });
  }
  if (repeat) {
    [repeat, until, count, room, date, start, end].forEach(function (e) {
      e.addEventListener('change', function () { clearTimeout(planTimer); planTimer = setTimeout(updatePlan, 250); });
    });
    weekdays.addEventListener('change', function () { clearTimeout(planTimer); planTimer = setTimeout(updatePlan, 250); });
    weekdays.hidden = repeat.value !== 'weekly';
  }

  // One click, one booking (the idempotency key covers a second submit anyway); the
  // button says the booking is on its way until the outcome page arrives.
  form.addEventListener('submit', function () {
    form.setAttribute('aria-busy', 'true');
    Array.prototype.forEach.call(form.querySelectorAll('button[type=submit]'), function (b) {
      b.disabled = true;
      b.setAttribute('data-label', b.textContent);
      b.textContent = L.sending;
      b.classList.add('busy');
    });
  });
  window.addEventListener('pageshow', function () {
    form.removeAttribute('aria-busy');
    Array.prototype.forEach.call(form.querySelectorAll('button[type=submit]'), function (b) {
      b.disabled = false;
      b.classList.remove('busy');
      if (b.getAttribute('data-label')) { b.textContent = b.getAttribute('data-label'); }
    });
  });
}());
