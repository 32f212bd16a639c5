package store

// migrations are the studio's schema versions, applied in order and
// recorded in forger_schema_migrations. The SQL is the same for SQLite and
// PostgreSQL. Never edit an entry once released: append a new one.
var migrations = []struct {
	name  string
	stmts []string
}{
	{"jobs", []string{
		// One look-alike job. id is 128 random bits, base64url (22 chars).
		// upload and the files in results are names relative to the data
		// folder's uploads/ and results/<id>/ folders, never paths from a
		// user. steps and results are JSON objects (see Job).
		`CREATE TABLE forger_jobs (
			id TEXT PRIMARY KEY,
			kind TEXT NOT NULL,
			status TEXT NOT NULL,
			reason TEXT NOT NULL DEFAULT '',
			email TEXT NOT NULL DEFAULT '',
			upload TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL,
			finished_at BIGINT NOT NULL DEFAULT 0,
			attempts INTEGER NOT NULL DEFAULT 0,
			steps TEXT NOT NULL DEFAULT '{}',
			results TEXT NOT NULL DEFAULT '{}',
			emailed_at BIGINT NOT NULL DEFAULT 0,
			email_error TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX forger_jobs_created_at ON forger_jobs (created_at)`,
	}},
	{"gallery and models", []string{
		// A face of the look-alike gallery; file is relative to the data
		// folder's gallery/ folder, meta is JSON for the face index.
		`CREATE TABLE forger_gallery (
			id TEXT PRIMARY KEY,
			name TEXT NOT NULL,
			file TEXT NOT NULL,
			meta TEXT NOT NULL DEFAULT '{}',
			created_at BIGINT NOT NULL
		)`,
		// Settings an admin gives a model found under --models, by name.
		`CREATE TABLE forger_models (
			name TEXT PRIMARY KEY,
			hidden INTEGER NOT NULL DEFAULT 0,
			title TEXT NOT NULL DEFAULT '',
			updated_at BIGINT NOT NULL
		)`,
	}},
	{"mail confirmations", []string{
		// A link mailed to confirm an address: the SHA-256 of its token
		// (hex; the token itself is only in the mail), the address
		// (lower-case) and the job that asked for it; used_at is 0 until
		// the link is used, once.
		`CREATE TABLE forger_mail_confirmations (
			token_hash TEXT PRIMARY KEY,
			email TEXT NOT NULL,
			job_id TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL,
			used_at BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX forger_mail_confirmations_expires_at ON forger_mail_confirmations (expires_at)`,
		// Addresses whose owner has used a confirmation link.
		`CREATE TABLE forger_mail_confirmed (
			email TEXT PRIMARY KEY,
			confirmed_at BIGINT NOT NULL
		)`,
	}},
}
