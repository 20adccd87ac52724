-- Who holds a delivery's lease, so a lease held by a process that died (SIGKILL, power
-- loss) on this machine is taken over at once instead of after the lease runs out.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
