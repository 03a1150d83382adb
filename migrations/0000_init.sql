CREATE TABLE "audit_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"book_seq" bigint NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"agent_id" text NOT NULL,
	"operation" text NOT NULL,
	"book_id" text NOT NULL,
	"path" text,
	"user_id" text NOT NULL,
	"prev_hash" text,
	"new_hash" text,
	"mode" text,
	"status" text NOT NULL,
	"error_code" text,
	"error_message" text,
	"duration_ms" integer NOT NULL,
	"prev_entry_hash" text,
	"entry_hash" text NOT NULL,
	CONSTRAINT "audit_log_agent" CHECK (btrim("audit_log"."agent_id") <> '' AND lower(btrim("audit_log"."agent_id")) <> 'system'),
	CONSTRAINT "audit_log_status" CHECK ("audit_log"."status" IN ('ok', 'conflict', 'rejected', 'error')),
	CONSTRAINT "audit_log_prev_hash_format" CHECK ("audit_log"."prev_hash" IS NULL OR "audit_log"."prev_hash" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "audit_log_new_hash_format" CHECK ("audit_log"."new_hash" IS NULL OR "audit_log"."new_hash" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "book_head" (
	"book_id" text PRIMARY KEY NOT NULL,
	"seq" bigint DEFAULT 0 NOT NULL,
	"last_entry_hash" text
);
--> statement-breakpoint
CREATE TABLE "book_manifest" (
	"book_id" text NOT NULL,
	"manifest_hash" text NOT NULL,
	"seq" bigint NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "book_manifest_book_id_manifest_hash_pk" PRIMARY KEY("book_id","manifest_hash")
);
--> statement-breakpoint
CREATE TABLE "file_journal" (
	"book_id" text NOT NULL,
	"path" text NOT NULL,
	"user_id" text DEFAULT '__base__' NOT NULL,
	"sha256" text NOT NULL,
	"size" bigint NOT NULL,
	"written_at" timestamp with time zone DEFAULT now() NOT NULL,
	"written_by" text NOT NULL,
	CONSTRAINT "file_journal_book_id_path_user_id_pk" PRIMARY KEY("book_id","path","user_id"),
	CONSTRAINT "file_journal_sha256_format" CHECK ("file_journal"."sha256" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "file_journal_agent" CHECK (btrim("file_journal"."written_by") <> '' AND lower(btrim("file_journal"."written_by")) <> 'system'),
	CONSTRAINT "file_journal_size" CHECK ("file_journal"."size" >= 0)
);
--> statement-breakpoint
CREATE INDEX "audit_log_book_seq_idx" ON "audit_log" USING btree ("book_id","book_seq");--> statement-breakpoint
CREATE INDEX "audit_log_file_idx" ON "audit_log" USING btree ("book_id","path","user_id","book_seq");--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_log_agent_idx" ON "audit_log" USING btree ("agent_id");--> statement-breakpoint
CREATE INDEX "file_journal_sha256_idx" ON "file_journal" USING btree ("sha256");