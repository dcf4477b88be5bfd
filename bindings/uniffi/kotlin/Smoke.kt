// Kotlin smoke test of the generated bindings: open, ingest, query, export, and the error codes.
// Run by bindings/uniffi/kotlin/smoke.sh. Prints "N passed, M failed" and exits non-zero on failure.

import kotlinx.coroutines.runBlocking
import rapport.*
import kotlin.system.exitProcess

var passed = 0
var failed = 0

fun check(name: String, ok: Boolean) {
    if (ok) { passed++; println("ok: $name") } else { failed++; println("FAILED: $name") }
}

inline fun <reified E : Throwable> throws(name: String, block: () -> Unit) {
    try {
        block()
        check("$name throws ${E::class.simpleName}", false)
    } catch (e: Throwable) {
        check("$name throws ${E::class.simpleName} (got ${e::class.simpleName}: ${e.message})", e is E)
    }
}

fun message(id: String, from: String, to: String, subject: String, date: String, inReplyTo: String? = null): ByteArray {
    val lines = mutableListOf("Message-ID: <$id>", "Date: $date", "From: $from", "To: $to", "Subject: $subject")
    if (inReplyTo != null) lines += listOf("In-Reply-To: <$inReplyTo>", "References: <$inReplyTo>")
    return (lines.joinToString("\r\n") + "\r\n\r\nBody.\r\n").toByteArray()
}

class Progress : ImportProgressListener {
    var calls = 0
    override fun onProgress(progress: ImportProgress) { calls++ }
}

fun main(args: Array<String>): Unit = runBlocking {
    val now = "2024-03-01T00:00:00Z"
    val db = Rapport.openInMemory()
    check("add identity", db.addIdentity("me@example.com"))
    db.ingest(message("a1@example.org", "Ann <ann@example.org>", "me@example.com", "Lunch?", "Mon, 01 Jan 2024 10:00:00 +0000"),
        SourceRef(kind = "api", externalId = "1"))
    db.ingest(message("a2@example.com", "me@example.com", "ann@example.org", "Re: Lunch?", "Mon, 01 Jan 2024 12:00:00 +0000", "a1@example.org"),
        SourceRef(kind = "api", externalId = "2"), true)
    val bob = db.ingest(message("b1@example.net", "Bob <bob@example.net>", "me@example.com", "Question", "Tue, 02 Jan 2024 09:00:00 +0000"),
        SourceRef(kind = "api", externalId = "3"))
    check("ingest outcome", bob.outcome == "stored" && bob.messageId == "b1@example.net")
    db.setPolicy("sent-and-received")
    check("stats", db.stats().messages == 3L)
    val contacts = db.contacts(ContactQuery(sort = "messages", now = now))
    check("contacts", contacts.map { it.email } == listOf("ann@example.org", "bob@example.net"))
    check("contact", db.contact("ann@example.org", now).contact.inboundCount == 1L)
    val waiting = db.awaiting(AwaitingQuery(on = "me", now = now))
    check("awaiting on me", waiting.map { it.contactEmail } == listOf("bob@example.net"))
    check("threads", db.threads(ThreadQuery(now = now)).size == 2)
    check("search", db.search("lunch", null).isNotEmpty())
    check("export vcard", db.exportToString("vcard", null).contains("BEGIN:VCARD"))

    if (args.isNotEmpty()) {
        val progress = Progress()
        val summary = db.importPaths(listOf(args[0]), null, progress, CancelToken())
        check("import with a listener", summary.messagesRead > 0L && progress.calls > 0)
    }

    throws<RapportException.NotFound>("contact of a stranger") { runBlocking { db.contact("nobody@example.org", null) } }
    throws<RapportException.NotFound>("import of a missing path") { runBlocking { db.importPaths(listOf("/no/such/maildir"), null, null, null) } }
    throws<RapportException.InvalidInput>("a bad sort") { runBlocking { db.contacts(ContactQuery(sort = "loudest")) } }
    db.closeDatabase()
    check("closed", db.isClosed())
    throws<RapportException.Closed>("a closed handle") { runBlocking { db.stats() } }
    val corrupt = kotlin.io.path.createTempFile("corrupt", ".db").toFile()
    corrupt.writeBytes(ByteArray(8192) { 0x5a })
    throws<RapportException.Storage>("a corrupt database") { Rapport.open(corrupt.path) }
    corrupt.delete()

    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
