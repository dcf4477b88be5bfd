-- The display name each participant row was written with, so that a contact's name history is
-- derived from the stored copy of every message (the copy that wins between copies sharing a
-- Message-ID), not from whichever copy arrived first.
ALTER TABLE participant ADD COLUMN name TEXT NOT NULL DEFAULT '';

-- Carry names over where the old history says exactly which rows they belong to: an address
-- with a single name, used as often as the address appears. Other rows keep '' (their history
-- stays as it was; only a later change of winning copy recounts them).
UPDATE participant SET name = (
    SELECT n.name FROM address_name n WHERE n.address_id = participant.address_id)
WHERE address_id IN (
    SELECT n.address_id FROM address_name n
    GROUP BY n.address_id
    HAVING count(*) = 1
       AND sum(n.uses) = (SELECT count(*) FROM participant p WHERE p.address_id = n.address_id));
