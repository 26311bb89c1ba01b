//! The PostgreSQL schema, in numbered migrations like SQLite's. The
//! table `samizdat_schema` holds how many have run; front nodes starting
//! together take an advisory lock, so each migration runs once.
//!
//! It holds what SQLite's holds, in PostgreSQL's terms: `d_tag` and tag
//! values as `bytea` (text in PostgreSQL cannot hold a NUL, a tag value
//! can), every integer as `bigint`, the full-text terms as a `tsvector`
//! whose lexemes are the folded terms exactly (no parser, no stemming:
//! `array_to_tsvector`), and `tx`, the transaction that wrote each event,
//! so that a reader can tell which rows no running transaction can still
//! add below (`keys`).

use postgres::Client;

use super::PgError;

/// Arbitrary, fixed: the advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 0x5a4d_4947_5241_5445;

const MIGRATIONS: &[&str] = &[
    // 1: events, tags, deletions, search, blob owners and references,
    // attestations by original, counters; the insert and remove functions.
    r#"
    CREATE TABLE events (
        seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id         bytea  NOT NULL UNIQUE,
        pubkey     bytea  NOT NULL,
        kind       bigint NOT NULL,
        created_at bigint NOT NULL,
        d_tag      bytea,
        first_seen bigint NOT NULL,
        json       text   NOT NULL,
        happened   bigint NOT NULL,
        tx         xid8   NOT NULL DEFAULT pg_current_xact_id()
    );
    CREATE INDEX events_created  ON events (created_at);
    CREATE INDEX events_kind     ON events (kind, created_at);
    CREATE INDEX events_author   ON events (pubkey, kind, created_at);
    CREATE UNIQUE INDEX events_replace ON events (pubkey, kind, d_tag) WHERE d_tag IS NOT NULL;
    CREATE INDEX events_happened ON events (happened);
    CREATE INDEX events_tx       ON events (tx);

    CREATE TABLE tags (
        name       text   NOT NULL,
        value      bytea  NOT NULL,
        created_at bigint NOT NULL,
        seq        bigint NOT NULL,
        PRIMARY KEY (name, value, created_at, seq)
    );
    CREATE INDEX tags_seq ON tags (seq);

    CREATE TABLE tombstones (
        id       bytea NOT NULL,
        pubkey   bytea NOT NULL,
        deletion bytea NOT NULL,
        PRIMARY KEY (id, pubkey)
    );
    CREATE TABLE address_tombstones (
        pubkey bytea  NOT NULL,
        kind   bigint NOT NULL,
        d_tag  bytea  NOT NULL,
        until  bigint NOT NULL,
        PRIMARY KEY (pubkey, kind, d_tag)
    );

    CREATE TABLE search (
        seq   bigint PRIMARY KEY,
        terms tsvector NOT NULL
    );
    CREATE INDEX search_terms ON search USING gin (terms);

    CREATE TABLE blob_owners (
        pubkey   bytea  NOT NULL,
        hash     bytea  NOT NULL,
        uploaded bigint NOT NULL,
        type     text,
        size     bigint NOT NULL,
        PRIMARY KEY (pubkey, hash)
    );
    CREATE INDEX blob_owners_hash ON blob_owners (hash);

    CREATE TABLE blob_refs (
        hash bytea  NOT NULL,
        seq  bigint NOT NULL,
        PRIMARY KEY (hash, seq)
    );
    CREATE INDEX blob_refs_seq ON blob_refs (seq);

    CREATE TABLE originals (
        original bytea  NOT NULL,
        seq      bigint NOT NULL,
        PRIMARY KEY (original, seq)
    );
    CREATE INDEX originals_seq ON originals (seq);

    CREATE TABLE counters (
        name  text   PRIMARY KEY,
        value bigint NOT NULL
    );
    INSERT INTO counters (name, value) VALUES ('removals', 0);

    -- Removes one stored event with everything kept beside it (the
    -- caller counts it in `counters`, once per batch).
    CREATE FUNCTION samizdat_remove(p_seq bigint) RETURNS void
    LANGUAGE sql AS $$
        DELETE FROM tags WHERE seq = p_seq;
        DELETE FROM blob_refs WHERE seq = p_seq;
        DELETE FROM originals WHERE seq = p_seq;
        DELETE FROM search WHERE seq = p_seq;
        DELETE FROM events WHERE seq = p_seq;
    $$;

    -- Applies a batch of verified events in order, with the rules of
    -- samizdat-store's insert.rs: tombstones, replaceable and addressable
    -- versions (newest wins, then the lowest id), NIP-09 deletions. What
    -- each event carries beside it (tags, terms, blob references, the
    -- originals it names, what it deletes) comes in flat arrays, event i's
    -- part ending at p_*_end[i]. Returns each event's outcome (0 stored,
    -- 1 duplicate, 2 deleted, 3 superseded) and its new seq.
    CREATE FUNCTION samizdat_insert(
        p_ids bytea[], p_pubkeys bytea[], p_kinds bigint[], p_created bigint[],
        p_dtags bytea[], p_jsons text[], p_happened bigint[], p_terms text[],
        p_seen bigint[],
        p_tag_end int[], p_tag_names text[], p_tag_values bytea[],
        p_ref_end int[], p_refs bytea[],
        p_orig_end int[], p_origs bytea[],
        p_del_end int[], p_dels bytea[],
        p_adel_end int[], p_adel_kinds bigint[], p_adel_dtags bytea[])
    RETURNS TABLE (r_outcome smallint, r_seq bigint)
    LANGUAGE plpgsql AS $fn$
    DECLARE
        n int := coalesce(array_length(p_ids, 1), 0);
        v_seq bigint;
        v_other bigint;
        v_old record;
        v_until bigint;
        v_from int;
        v_removed bigint := 0;
    BEGIN
        FOR i IN 1..n LOOP
            r_seq := NULL;
            IF p_kinds[i] <> 5 AND EXISTS (SELECT 1 FROM tombstones t
                    WHERE t.id = p_ids[i] AND t.pubkey = p_pubkeys[i]) THEN
                r_outcome := 2;
                RETURN NEXT;
                CONTINUE;
            END IF;
            IF p_dtags[i] IS NOT NULL THEN
                IF p_kinds[i] BETWEEN 30000 AND 39999 THEN
                    SELECT a.until INTO v_until FROM address_tombstones a
                     WHERE a.pubkey = p_pubkeys[i] AND a.kind = p_kinds[i]
                       AND a.d_tag = p_dtags[i];
                    IF FOUND AND p_created[i] <= v_until THEN
                        r_outcome := 2;
                        RETURN NEXT;
                        CONTINUE;
                    END IF;
                END IF;
                SELECT e.seq, e.created_at, e.id INTO v_old FROM events e
                 WHERE e.pubkey = p_pubkeys[i] AND e.kind = p_kinds[i]
                   AND e.d_tag = p_dtags[i];
                IF FOUND THEN
                    IF v_old.created_at > p_created[i]
                       OR (v_old.created_at = p_created[i] AND v_old.id <= p_ids[i]) THEN
                        r_outcome := CASE WHEN v_old.id = p_ids[i] THEN 1 ELSE 3 END;
                        RETURN NEXT;
                        CONTINUE;
                    END IF;
                    PERFORM samizdat_remove(v_old.seq);
                    v_removed := v_removed + 1;
                END IF;
            END IF;
            v_seq := NULL;
            INSERT INTO events (id, pubkey, kind, created_at, d_tag, first_seen, json, happened)
            VALUES (p_ids[i], p_pubkeys[i], p_kinds[i], p_created[i], p_dtags[i], p_seen[i],
                    p_jsons[i], p_happened[i])
            ON CONFLICT (id) DO NOTHING
            RETURNING seq INTO v_seq;
            IF v_seq IS NULL THEN
                r_outcome := 1;
                RETURN NEXT;
                CONTINUE;
            END IF;
            -- Each statement only when there is something for it: most
            -- events name no blob and no original.
            v_from := CASE WHEN i = 1 THEN 0 ELSE p_tag_end[i - 1] END;
            IF p_tag_end[i] > v_from THEN
                INSERT INTO tags (name, value, created_at, seq)
                SELECT p_tag_names[j], p_tag_values[j], p_created[i], v_seq
                FROM generate_series(v_from + 1, p_tag_end[i]) AS j
                ON CONFLICT DO NOTHING;
            END IF;
            IF p_terms[i] IS NOT NULL AND p_terms[i] <> '' THEN
                INSERT INTO search (seq, terms) VALUES (v_seq,
                    array_to_tsvector(string_to_array(p_terms[i], ' ')));
            END IF;
            v_from := CASE WHEN i = 1 THEN 0 ELSE p_ref_end[i - 1] END;
            IF p_ref_end[i] > v_from THEN
                INSERT INTO blob_refs (hash, seq)
                SELECT p_refs[j], v_seq FROM generate_series(v_from + 1, p_ref_end[i]) AS j
                ON CONFLICT DO NOTHING;
            END IF;
            v_from := CASE WHEN i = 1 THEN 0 ELSE p_orig_end[i - 1] END;
            IF p_orig_end[i] > v_from THEN
                INSERT INTO originals (original, seq)
                SELECT p_origs[j], v_seq FROM generate_series(v_from + 1, p_orig_end[i]) AS j
                ON CONFLICT DO NOTHING;
            END IF;
            IF p_kinds[i] = 5 THEN
                v_from := CASE WHEN i = 1 THEN 0 ELSE p_del_end[i - 1] END;
                FOR j IN v_from + 1 .. p_del_end[i] LOOP
                    INSERT INTO tombstones (id, pubkey, deletion)
                    VALUES (p_dels[j], p_pubkeys[i], p_ids[i]) ON CONFLICT DO NOTHING;
                    SELECT e.seq INTO v_other FROM events e
                     WHERE e.id = p_dels[j] AND e.pubkey = p_pubkeys[i] AND e.kind <> 5;
                    IF FOUND THEN
                        PERFORM samizdat_remove(v_other);
                        v_removed := v_removed + 1;
                    END IF;
                END LOOP;
                v_from := CASE WHEN i = 1 THEN 0 ELSE p_adel_end[i - 1] END;
                FOR j IN v_from + 1 .. p_adel_end[i] LOOP
                    INSERT INTO address_tombstones (pubkey, kind, d_tag, until)
                    VALUES (p_pubkeys[i], p_adel_kinds[j], p_adel_dtags[j], p_created[i])
                    ON CONFLICT (pubkey, kind, d_tag)
                    DO UPDATE SET until = greatest(address_tombstones.until, excluded.until);
                    FOR v_old IN SELECT e.seq FROM events e
                        WHERE e.pubkey = p_pubkeys[i] AND e.kind = p_adel_kinds[j]
                          AND e.d_tag = p_adel_dtags[j] AND e.created_at <= p_created[i] LOOP
                        PERFORM samizdat_remove(v_old.seq);
                        v_removed := v_removed + 1;
                    END LOOP;
                END LOOP;
            END IF;
            r_outcome := 0;
            r_seq := v_seq;
            RETURN NEXT;
        END LOOP;
        -- Once, last: the one row every writer that removes shares is
        -- held for the least time, after every other lock of the batch.
        IF v_removed > 0 THEN
            UPDATE counters SET value = value + v_removed WHERE name = 'removals';
        END IF;
    END
    $fn$;
    "#,
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the schema up to date, one migration per transaction, under an
/// advisory lock so that front nodes starting together do not race.
pub fn migrate(client: &mut Client) -> Result<(), PgError> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = migrate_locked(client);
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result?;
    unlocked?;
    Ok(())
}

fn migrate_locked(client: &mut Client) -> Result<(), PgError> {
    // Text in any other encoding cannot hold every event's JSON: one
    // emoji would fail a whole batch.
    let encoding: String = client.query_one("SHOW server_encoding", &[])?.get(0);
    if encoding != "UTF8" {
        return Err(PgError::Unsuitable(format!(
            "the database's encoding is {encoding}: samizdat needs UTF8 \
             (CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0)"
        )));
    }
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS samizdat_schema (version bigint NOT NULL);
         INSERT INTO samizdat_schema (version)
         SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM samizdat_schema);",
    )?;
    let current: i64 = client
        .query_one("SELECT version FROM samizdat_schema", &[])?
        .get(0);
    if current > VERSION {
        return Err(PgError::SchemaTooNew {
            found: current,
            supported: VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)?;
        tx.execute(
            "UPDATE samizdat_schema SET version = $1",
            &[&(i as i64 + 1)],
        )?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied PostgreSQL schema migration");
    }
    Ok(())
}
