/* icalcheck FILE.ics : parse with libical 3 (the library behind Evolution/GNOME and many servers),
 * run its RFC 5545/5546 restriction checker and report every X-LIC-ERROR plus TZIDs that lack a
 * VTIMEZONE. Exit 1 if anything was reported. Build: cc icalcheck.c -o icalcheck $(pkg-config --cflags --libs libical)
 * Source: shared/reference/ical-feed.md §4.3. */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>

static int problems = 0;

static void need(icalcomponent *c, icalproperty_kind k, const char *name, int min, int max) {
    int n = icalcomponent_count_properties(c, k);
    if (n < min || n > max) {
        printf("  - %s: %s appears %d time(s)\n", icalcomponent_kind_to_string(icalcomponent_isa(c)), name, n);
        problems++;
    }
}

static void report_errors(icalcomponent *root, icalcomponent *c) {
    /* libical's restriction table for calendars without METHOD does not demand these, so check them here */
    if (icalcomponent_isa(c) == ICAL_VCALENDAR_COMPONENT) {
        need(c, ICAL_PRODID_PROPERTY, "PRODID", 1, 1);
        need(c, ICAL_VERSION_PROPERTY, "VERSION", 1, 1);
    } else if (icalcomponent_isa(c) == ICAL_VEVENT_COMPONENT) {
        need(c, ICAL_UID_PROPERTY, "UID", 1, 1);
        need(c, ICAL_DTSTAMP_PROPERTY, "DTSTAMP", 1, 1);
        need(c, ICAL_DTSTART_PROPERTY, "DTSTART", 1, 1);
        icalproperty *st = icalcomponent_get_first_property(c, ICAL_DTSTAMP_PROPERTY);
        if (st && !icaltime_is_utc(icalproperty_get_dtstamp(st))) {
            printf("  - VEVENT: DTSTAMP is not UTC\n");
            problems++;
        }
    }
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
        if (icalproperty_isa(p) == ICAL_XLICERROR_PROPERTY) {
            printf("  - %s: %s\n", icalcomponent_kind_to_string(icalcomponent_isa(c)), icalproperty_get_xlicerror(p));
            problems++;
            continue;
        }
        icalparameter *tz = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
        if (tz && icalcomponent_isa(c) != ICAL_VTIMEZONE_COMPONENT &&
            !icalcomponent_get_timezone(root, icalparameter_get_tzid(tz))) {
            printf("  - %s %s: TZID=%s has no VTIMEZONE in this calendar\n",
                   icalcomponent_kind_to_string(icalcomponent_isa(c)), icalproperty_get_property_name(p),
                   icalparameter_get_tzid(tz));
            problems++;
        }
    }
    for (icalcomponent *k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k;
         k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
        report_errors(root, k);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s FILE.ics\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    fseek(f, 0, SEEK_END); long n = ftell(f); rewind(f);
    char *buf = malloc(n + 1);
    if (fread(buf, 1, n, f) != (size_t)n) { perror("read"); return 2; }
    buf[n] = 0; fclose(f);
    icalerror_set_errors_are_fatal(0);
    icalcomponent *root = icalparser_parse_string(buf);
    if (!root || icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT) {
        printf("%s: not a VCALENDAR (%s)\n", argv[1], icalerror_strerror(icalerrno));
        return 1;
    }
    icalrestriction_check(root); /* adds X-LIC-ERROR properties for RFC 5545 / iTIP METHOD violations */
    printf("%s:\n", argv[1]);
    report_errors(root, root);
    int events = icalcomponent_count_components(root, ICAL_VEVENT_COMPONENT);
    printf(problems ? "%s: %d problem(s)\n" : "%s: OK (%d VEVENT)\n", argv[1], problems ? problems : events);
    icalcomponent_free(root);
    free(buf);
    return problems ? 1 : 0;
}
