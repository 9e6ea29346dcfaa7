// expand-icaljs.mjs FILE.ics: print "UID START END" (UTC RFC 3339) for every occurrence a
// calendar client would show, as ical.js expands it: RRULE, EXDATE and RECURRENCE-ID
// overrides applied, cancelled events and occurrences left out, at most 1000 per series.
// Times come from the feed's own VTIMEZONEs. Exit 2 when the file does not parse.
import fs from 'node:fs';
import ICAL from 'ical.js';
const file = process.argv[2];
let cal;
try { cal = new ICAL.Component(ICAL.parse(fs.readFileSync(file, 'utf8'))); } catch (e) { console.error(`${file}: PARSE ERROR: ${e.message}`); process.exit(2); }
for (const vtz of cal.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
const iso = (t) => new Date(t.toUnixTime() * 1000).toISOString().replace('.000Z', 'Z');
const cancelled = (c) => (c.getFirstPropertyValue('status') || '').toUpperCase() === 'CANCELLED';
const masters = new Map();
const exceptions = [];
for (const ve of cal.getAllSubcomponents('vevent')) {
  const ev = new ICAL.Event(ve);
  if (ev.isRecurrenceException()) exceptions.push(ev); else masters.set(ev.uid, ev);
}
for (const ex of exceptions) {
  const m = masters.get(ex.uid);
  if (!m) { console.error(`${file}: RECURRENCE-ID for unknown UID ${ex.uid}`); process.exit(1); }
  m.relateException(ex);
}
const lines = [];
for (const [uid, ev] of masters) {
  if (cancelled(ev.component)) continue;
  if (!ev.isRecurring()) { lines.push(`${uid} ${iso(ev.startDate)} ${iso(ev.endDate)}`); continue; }
  const it = ev.iterator();
  for (let n = 0, next; n < 1000 && (next = it.next()); n++) {
    const d = ev.getOccurrenceDetails(next);
    if (cancelled(d.item.component)) continue;
    lines.push(`${uid} ${iso(d.startDate)} ${iso(d.endDate)}`);
  }
}
lines.sort();
for (const l of lines) console.log(l);
