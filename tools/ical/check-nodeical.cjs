// check-nodeical.cjs FILE.ics: parse a feed with node-ical, a second independent parser, print
// each VEVENT as node-ical sees it and check what it resolved. node-ical throws on a TZID it
// cannot resolve (e.g. CST); it quietly accepts a DTSTAMP with TZID=Local, so that is checked
// here. Exit 0 = OK, 1 = problems listed (or node-ical threw), 2 = usage or unreadable file.
'use strict';
const fs = require('node:fs');
const ical = require('node-ical');

const file = process.argv[2];
if (!file) { console.error('usage: node check-nodeical.cjs FILE.ics'); process.exit(2); }
try { fs.accessSync(file, fs.constants.R_OK); } catch (e) { console.error(`${file}: ${e.message}`); process.exit(2); }

let data;
try { data = ical.sync.parseFile(file); } catch (e) { console.log(`${file}: node-ical threw: ${e.message}`); process.exit(1); }

const problems = [], warn = (m) => problems.push(m);
const valid = (d) => d instanceof Date && !Number.isNaN(d.getTime());
let events = 0;
for (const e of Object.values(data)) {
  if (!e || e.type !== 'VEVENT') continue;
  events++;
  const uid = e.uid || '(no UID)';
  if (!e.uid) warn('VEVENT without UID');
  if (!valid(e.start)) warn(`VEVENT ${uid}: DTSTART missing or unreadable`);
  else if (!e.start.tz && !e.start.dateOnly) warn(`VEVENT ${uid}: DTSTART is a floating time (no TZID, no Z)`);
  if (e.end !== undefined && !valid(e.end)) warn(`VEVENT ${uid}: DTEND unreadable`);
  if (valid(e.start) && valid(e.end) && e.end < e.start) warn(`VEVENT ${uid}: ends before it starts`);
  if (!valid(e.dtstamp)) warn(`VEVENT ${uid}: DTSTAMP missing or unreadable`);
  else if (e.dtstamp.tz !== 'Etc/UTC') warn(`VEVENT ${uid}: DTSTAMP is not UTC (tz ${e.dtstamp.tz})`);
  if (e.sequence !== undefined && !Number.isInteger(Number(e.sequence))) warn(`VEVENT ${uid}: SEQUENCE is not an integer (${JSON.stringify(e.sequence)})`);
  console.log([uid, valid(e.start) ? e.start.toISOString() : '-', e.start && e.start.tz, e.status || '-',
    e.rrule ? e.rrule.toString() : '-', e.exdate ? Object.keys(e.exdate).length : 0,
    e.recurrences ? Object.keys(e.recurrences).length : 0].join(' '));
}
if (problems.length) { console.log(`${file}: ${problems.length} problem(s)`); problems.forEach((p) => console.log('  - ' + p)); process.exit(1); }
console.log(`${file}: OK (${events} VEVENT)`);
