// check-icaljs.mjs FILE.ics: parse a feed with ical.js (the parser Thunderbird uses) and check
// what ical.js itself is lenient about. Exit 0 = OK, 1 = problems listed, 2 = unparseable.
// Source: shared/reference/ical-feed.md §4.2.
import fs from 'node:fs';
import ICAL from 'ical.js';
const file = process.argv[2];
const raw = fs.readFileSync(file), text = raw.toString('utf8');
const problems = [], warn = (m) => problems.push(m);
if (/[^\r]\n/.test(text) || text.startsWith('\n')) warn('bare LF line ending (CRLF required)');
text.split('\r\n').forEach((l, i) => { const n = Buffer.byteLength(l, 'utf8'); if (n > 75) warn(`line ${i + 1} is ${n} octets (>75, not folded)`); });
if (raw.includes(Buffer.from([0xef, 0xbf, 0xbd]))) warn('U+FFFD found: bad UTF-8 or a fold split a character');
for (const l of text.replace(/\r\n[ \t]/g, '').split('\r\n')) {
  const m = /^([A-Za-z0-9-]+)[^:]*;VALUE=TEXT[;:]/i.exec(l);
  if (m) warn(`${m[1]} carries VALUE=TEXT (go-ical SetText on a non-TEXT property?)`);
}
let cal;
try { cal = new ICAL.Component(ICAL.parse(text)); } catch (e) { console.error(`${file}: PARSE ERROR: ${e.message}`); process.exit(2); }
for (const p of ['prodid', 'version']) if (cal.getAllProperties(p).length !== 1) warn(`VCALENDAR needs exactly one ${p.toUpperCase()}`);
if (cal.getFirstPropertyValue('version') !== '2.0') warn('VERSION is not 2.0');
const tzids = new Set();
for (const vtz of cal.getAllSubcomponents('vtimezone')) { const tz = new ICAL.Timezone(vtz); tzids.add(tz.tzid); ICAL.TimezoneService.register(tz); }
const walk = (comp) => {
  for (const prop of comp.getAllProperties()) {
    const tzid = prop.getParameter('tzid');
    if (tzid && !tzids.has(tzid)) warn(`${comp.name.toUpperCase()} ${prop.name.toUpperCase()} uses TZID=${tzid} with no matching VTIMEZONE`);
  }
  comp.getAllSubcomponents().forEach(walk);
};
walk(cal);
const seen = new Set();
for (const ve of cal.getAllSubcomponents('vevent')) {
  const ev = new ICAL.Event(ve), uid = ve.getFirstPropertyValue('uid'), rid = ve.getFirstPropertyValue('recurrence-id');
  const key = `${uid}|${rid ? rid.toString() : ''}`;
  if (seen.has(key)) warn(`duplicate UID/RECURRENCE-ID ${key}`); seen.add(key);
  for (const p of ['uid', 'dtstamp', 'dtstart']) if (ve.getAllProperties(p).length !== 1) warn(`VEVENT ${uid}: needs exactly one ${p.toUpperCase()}`);
  const stamp = ve.getFirstProperty('dtstamp');
  if (stamp && (stamp.getParameter('tzid') || !stamp.getFirstValue().isDate && stamp.getFirstValue().zone !== ICAL.Timezone.utcTimezone)) warn(`VEVENT ${uid}: DTSTAMP must be UTC`);
  if (ve.hasProperty('dtend') && ve.hasProperty('duration')) warn(`VEVENT ${uid}: both DTEND and DURATION`);
  const seq = ve.getFirstPropertyValue('sequence');
  if (seq !== null && !Number.isInteger(seq)) warn(`VEVENT ${uid}: SEQUENCE is not an integer (${JSON.stringify(seq)})`);
  const st = ve.getFirstPropertyValue('status');
  if (st && !['TENTATIVE', 'CONFIRMED', 'CANCELLED'].includes(st)) warn(`VEVENT ${uid}: bad STATUS ${st}`);
  if (ev.endDate && ev.startDate && ev.endDate.compare(ev.startDate) < 0) warn(`VEVENT ${uid}: ends before it starts`);
  if (ev.isRecurring()) { const it = ev.iterator(); let n = 0; while (it.next() && n < 3) n++; if (!n) warn(`VEVENT ${uid}: RRULE yields no occurrence`); }
}
if (problems.length) { console.log(`${file}: ${problems.length} problem(s)`); problems.forEach((p) => console.log('  - ' + p)); process.exit(1); }
console.log(`${file}: OK (${cal.getAllSubcomponents('vevent').length} VEVENT, ${tzids.size} VTIMEZONE)`);
