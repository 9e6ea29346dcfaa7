// instants-icaljs.mjs FILE.ics: print "UID START END" per VEVENT, both as UTC RFC 3339,
// computed by ical.js from the feed's own VTIMEZONEs (ical.js has no zone database), so a
// wrong VTIMEZONE shows up as a wrong instant. Exit 2 when the file does not parse.
import fs from 'node:fs';
import ICAL from 'ical.js';
const file = process.argv[2];
let cal;
try { cal = new ICAL.Component(ICAL.parse(fs.readFileSync(file, 'utf8'))); } catch (e) { console.error(`${file}: PARSE ERROR: ${e.message}`); process.exit(2); }
for (const vtz of cal.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
const iso = (t) => t ? new Date(t.toUnixTime() * 1000).toISOString().replace('.000Z', 'Z') : '-';
for (const ve of cal.getAllSubcomponents('vevent')) {
  const ev = new ICAL.Event(ve);
  console.log(`${ev.uid} ${iso(ev.startDate)} ${iso(ev.endDate)}`);
}
