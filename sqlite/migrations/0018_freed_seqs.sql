-- Logon events kept under a machine seq above the highest machine's: left
-- by deletions before forgetFreedSeqs (sqlite/batch.go) deleted them with
-- their machines, they would be read as the events of the next new
-- machine, which SQLite gives the highest seq plus one. One scan, once.
DELETE FROM logon_events WHERE machine_seq > (SELECT coalesce(max(seq), 0) FROM machines);
