"""Test schedules of AMP monitors: what each site and mesh runs, and the YAML amplet2 fetches.

- `options`: amplet2's tests and their command-line options, against which
  a schedule item's arguments are checked;
- `models`: the SQL tables (schedule items, their destinations, and when each
  site's schedule last changed);
- `changes`: which sites' schedules a change touches, and marking them;
- `registry`: `ScheduleRegistry`, which creates, changes and reads items;
- `amplet`: a site's schedule as the YAML document amplet2 parses.

Kept free of imports here: `nntsc.store.sites` uses `changes`, and
`registry` uses `nntsc.store.sites`.
"""
