//! `rapport demo`: a small, realistic mailbox written here, imported through the real pipeline,
//! and the overview a user would look at first. Deterministic: the same people, messages and
//! Message-IDs every run, with dates relative to now.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rapport_core::time::{DAY, format_iso};
use rapport_core::{AwaitingQuery, ContactQuery, Engine, ImportOptions, WaitingOn};

use crate::context::Ctx;
use crate::fmt::{self, heading};
use crate::import_cmd::run_import;
use crate::print::{print_awaiting, print_contacts, print_neglected};

pub const ME: &str = "dana@northwind.example";
const ME_NAME: &str = "Dana Reyes";

#[derive(Clone, Copy)]
struct P {
    name: &'static str,
    email: &'static str,
}

const fn p(name: &'static str, email: &'static str) -> P {
    P { name, email }
}

const DANA: P = p(ME_NAME, ME);
const PRIYA: P = p("Priya Shah", "priya.shah@acme.example");
const MARCO: P = p("Marco Rossi", "marco.rossi@acme.example");
const JIN: P = p("Jin Park", "jin.park@acme.example");
const LENA: P = p("Lena Fischer", "lena.fischer@globex.example");
const TOM: P = p("Tom Baker", "tom.baker@initech.example");
const SARA: P = p("Sara Lindqvist", "sara.lindqvist@initech.example");
const AIKO: P = p("Aiko Tanaka", "aiko@hooli.example");
const JOHN: P = p("John Doe", "john.doe@gmail.com");
const JOHN_ALT: P = p("John Doe (work)", "John.Doe+work@googlemail.com");
const RAVI: P = p("Ravi Kumar", "ravi.kumar@umbrella.example");
const NEWSLETTER: P = p("The Weekly Brief", "newsletter@weeklybrief.example");
const BILLING: P = p("Acme Billing", "no-reply@billing.acme.example");
const RECRUITER: P = p("Kevin Hart", "kevin@talentsource.example");

/// People with a few ordinary exchanges each, to make the mailbox look lived in.
const FILLER: &[P] = &[
    p("Olivia Brown", "olivia@brightline.example"),
    p("Noah Wilson", "noah.wilson@brightline.example"),
    p("Emma Garcia", "emma@garcia-legal.example"),
    p("Liam Martin", "liam.martin@stratus.example"),
    p("Sofia Rossi", "sofia@stratus.example"),
    p("Lucas Dubois", "lucas.dubois@ateliers.example"),
    p("Mia Schneider", "mia.schneider@kraftwerk.example"),
    p("Ethan Clarke", "ethan@clarke-co.example"),
    p("Chloé Lambert", "chloe.lambert@ateliers.example"),
    p("Mateo López", "mateo@lopezstudio.example"),
    p("Hannah Becker", "hannah.becker@kraftwerk.example"),
    p("Omar Haddad", "omar@haddad.example"),
    p("Grace Kim", "grace.kim@globex.example"),
    p("Daniel Novak", "daniel.novak@initech.example"),
    p("Isabella Conti", "isabella@conti.example"),
    p("Samuel Okafor", "samuel.okafor@stratus.example"),
    p("Yuki Mori", "yuki.mori@hooli.example"),
    p("Ana Pereira", "ana.pereira@brightline.example"),
    p("Felix Wagner", "felix@wagner-design.example"),
    p("Zoe Adams", "zoe.adams@acme.example"),
    p("Leo Fontaine", "leo@fontaine.example"),
    p("Maya Patel", "maya.patel@umbrella.example"),
];

struct Msg {
    id: String,
    folder: &'static str,
    text: String,
}

struct Mailbox {
    now: i64,
    messages: Vec<Msg>,
}

fn addr(p: &P) -> String {
    format!("{} <{}>", p.name, p.email)
}

/// RFC 5322 date for `ts` (UTC).
fn rfc5322(ts: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let iso = format_iso(ts);
    let (y, m, d) = (&iso[0..4], &iso[5..7], &iso[8..10]);
    let month: usize = m.parse().unwrap_or(1);
    let weekday = DAYS[(ts.div_euclid(DAY)).rem_euclid(7) as usize];
    format!(
        "{weekday}, {} {} {y} {} +0000",
        d.trim_start_matches('0'),
        MONTHS[month.clamp(1, 12) - 1],
        &iso[11..19]
    )
}

#[derive(Default)]
struct Extra<'a> {
    cc: &'a [P],
    reply_to: Option<&'a str>,
    headers: &'a [(&'a str, &'a str)],
    message_id: Option<&'a str>,
}

impl Mailbox {
    /// Adds a message `days_ago` days (fractional) before now and returns its Message-ID.
    fn add(
        &mut self,
        from: P,
        to: &[P],
        subject: &str,
        days_ago: f64,
        parent: Option<&str>,
        extra: Extra<'_>,
    ) -> String {
        let n = self.messages.len() + 1;
        let domain = from.email.rsplit('@').next().unwrap_or("example");
        let id = extra
            .message_id
            .map(String::from)
            .unwrap_or_else(|| format!("demo-{n:03}@{domain}"));
        let date = self.now - (days_ago * DAY as f64) as i64;
        let mut t = String::new();
        let _ = writeln!(t, "From: {}", addr(&from));
        let _ = writeln!(
            t,
            "To: {}",
            to.iter().map(addr).collect::<Vec<_>>().join(", ")
        );
        if !extra.cc.is_empty() {
            let _ = writeln!(
                t,
                "Cc: {}",
                extra.cc.iter().map(addr).collect::<Vec<_>>().join(", ")
            );
        }
        let _ = writeln!(t, "Subject: {subject}");
        let _ = writeln!(t, "Date: {}", rfc5322(date));
        let _ = writeln!(t, "Message-ID: <{id}>");
        if let Some(parent) = parent {
            let parent_refs = self
                .messages
                .iter()
                .find(|m| m.id == parent)
                .and_then(|m| {
                    m.text
                        .lines()
                        .find_map(|l| l.strip_prefix("References: "))
                        .map(String::from)
                })
                .unwrap_or_default();
            let refs = format!("{parent_refs} <{parent}>");
            let _ = writeln!(t, "In-Reply-To: <{parent}>");
            let _ = writeln!(t, "References: {}", refs.trim());
        }
        if let Some(r) = extra.reply_to {
            let _ = writeln!(t, "Reply-To: {r}");
        }
        for (k, v) in extra.headers {
            let _ = writeln!(t, "{k}: {v}");
        }
        let _ = writeln!(t, "MIME-Version: 1.0");
        let _ = writeln!(t, "Content-Type: text/plain; charset=utf-8");
        let _ = writeln!(t);
        let _ = writeln!(t, "(demo message body; Rapport reads headers only)");
        let folder = if from.email == ME { "Sent" } else { "INBOX" };
        self.messages.push(Msg {
            id: id.clone(),
            folder,
            text: t,
        });
        id
    }
}

/// Builds the demo mailbox: each scenario a user should see in the overview.
fn build(now: i64) -> Mailbox {
    // Whole hours keep the demo's dates tidy.
    let mut mb = Mailbox {
        now: now - now.rem_euclid(3600),
        messages: Vec::new(),
    };
    let none = Extra::default;

    // Acme: a workshop thread that forks — Priya and Marco each answer the first message.
    let ws = mb.add(
        DANA,
        &[PRIYA, MARCO],
        "Q3 roadmap workshop",
        30.2,
        None,
        none(),
    );
    let priya1 = mb.add(
        PRIYA,
        &[DANA],
        "Re: Q3 roadmap workshop",
        29.9,
        Some(&ws),
        Extra {
            cc: &[MARCO],
            ..none()
        },
    );
    let marco1 = mb.add(
        MARCO,
        &[DANA],
        "Re: Q3 roadmap workshop",
        29.7,
        Some(&ws),
        none(),
    );
    mb.add(
        DANA,
        &[MARCO],
        "Re: Q3 roadmap workshop",
        29.1,
        Some(&marco1),
        none(),
    );
    let d2 = mb.add(
        DANA,
        &[PRIYA],
        "Re: Q3 roadmap workshop",
        28.8,
        Some(&priya1),
        Extra {
            cc: &[MARCO],
            ..none()
        },
    );
    mb.add(
        PRIYA,
        &[DANA],
        "Re: Q3 roadmap workshop",
        27.5,
        Some(&d2),
        none(),
    );

    // Acme: an ongoing relationship with Priya.
    let s = mb.add(
        PRIYA,
        &[DANA],
        "Design review notes",
        12.0,
        None,
        Extra {
            cc: &[JIN],
            ..none()
        },
    );
    let r = mb.add(
        DANA,
        &[PRIYA],
        "Re: Design review notes",
        11.6,
        Some(&s),
        Extra {
            cc: &[JIN],
            ..none()
        },
    );
    let j = mb.add(
        JIN,
        &[DANA, PRIYA],
        "Re: Design review notes",
        10.9,
        Some(&r),
        none(),
    );
    mb.add(
        DANA,
        &[JIN],
        "Re: Design review notes",
        10.5,
        Some(&j),
        Extra {
            cc: &[PRIYA],
            ..none()
        },
    );
    let s = mb.add(DANA, &[PRIYA], "Workshop photos", 1.4, None, none());
    mb.add(PRIYA, &[DANA], "Re: Workshop photos", 0.9, Some(&s), none());

    // Acme: Marco asked a question two days ago; nobody answered yet → waiting on you.
    mb.add(
        MARCO,
        &[DANA],
        "Invoice 1043: PO number?",
        2.1,
        None,
        Extra {
            cc: &[PRIYA],
            ..none()
        },
    );

    // Globex: a proposal sent nine days ago; only an out-of-office came back → waiting on them.
    let prop = mb.add(
        DANA,
        &[LENA],
        "Proposal: brand refresh for Globex",
        9.3,
        None,
        none(),
    );
    mb.add(
        LENA,
        &[DANA],
        "Automatic reply: Proposal: brand refresh for Globex",
        9.3 - 0.01,
        Some(&prop),
        Extra {
            headers: &[
                ("Auto-Submitted", "auto-replied"),
                ("X-Auto-Response-Suppress", "All"),
            ],
            ..none()
        },
    );
    let l0 = mb.add(LENA, &[DANA], "Coffee next week?", 60.0, None, none());
    mb.add(
        DANA,
        &[LENA],
        "Re: Coffee next week?",
        59.5,
        Some(&l0),
        none(),
    );

    // Initech: Tom is a client Dana has not written to in 75 days → neglected.
    let t0 = mb.add(TOM, &[DANA], "Kickoff follow-up", 110.0, None, none());
    let t1 = mb.add(
        DANA,
        &[TOM],
        "Re: Kickoff follow-up",
        109.0,
        Some(&t0),
        none(),
    );
    let t2 = mb.add(
        TOM,
        &[DANA],
        "Re: Kickoff follow-up",
        96.0,
        Some(&t1),
        Extra {
            cc: &[SARA],
            ..none()
        },
    );
    mb.add(
        DANA,
        &[TOM],
        "Re: Kickoff follow-up",
        75.0,
        Some(&t2),
        Extra {
            cc: &[SARA],
            ..none()
        },
    );
    let s0 = mb.add(SARA, &[DANA], "Brand guidelines v2", 21.0, None, none());
    mb.add(
        DANA,
        &[SARA],
        "Re: Brand guidelines v2",
        20.0,
        Some(&s0),
        none(),
    );

    // Hooli: a new lead introduced by Priya; Aiko's latest message waits on Dana.
    let a0 = mb.add(
        AIKO,
        &[DANA],
        "Intro via Priya",
        5.2,
        None,
        Extra {
            cc: &[PRIYA],
            ..none()
        },
    );
    let a1 = mb.add(DANA, &[AIKO], "Re: Intro via Priya", 4.8, Some(&a0), none());
    mb.add(AIKO, &[DANA], "Re: Intro via Priya", 0.6, Some(&a1), none());

    // A freelancer who writes from two spellings of one Gmail address.
    let j0 = mb.add(
        DANA,
        &[JOHN],
        "Illustrations for the Globex deck",
        40.0,
        None,
        none(),
    );
    let j1 = mb.add(
        JOHN_ALT,
        &[DANA],
        "Re: Illustrations for the Globex deck",
        38.0,
        Some(&j0),
        none(),
    );
    mb.add(
        DANA,
        &[JOHN],
        "Re: Illustrations for the Globex deck",
        20.0,
        Some(&j1),
        none(),
    );

    // Outlook rewrote the Message-ID of Ravi's mail; both copies must be one message.
    let ravi = mb.add(
        RAVI,
        &[DANA],
        "Umbrella Health: kickoff date",
        15.0,
        None,
        Extra {
            message_id: Some("ravi-original@umbrella.example"),
            ..none()
        },
    );
    mb.add(
        RAVI,
        &[DANA],
        "Umbrella Health: kickoff date",
        15.0,
        None,
        Extra {
            message_id: Some("AM0PR01MB1234.outlook-rewritten@eurprd01.prod.outlook.example"),
            headers: &[(
                "X-Microsoft-Original-Message-ID",
                "<ravi-original@umbrella.example>",
            )],
            ..none()
        },
    );
    mb.add(
        DANA,
        &[RAVI],
        "Re: Umbrella Health: kickoff date",
        14.5,
        Some(&ravi),
        none(),
    );

    // Machines: a weekly newsletter and monthly billing notices from a no-reply address.
    for week in 0..8 {
        mb.add(
            NEWSLETTER,
            &[DANA],
            &format!("The Weekly Brief #{}", 120 + week),
            1.0 + 7.0 * f64::from(7 - week),
            None,
            Extra {
                headers: &[
                    ("List-Unsubscribe", "<https://weeklybrief.example/u/dana>, <mailto:unsubscribe@weeklybrief.example>"),
                    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                    ("Feedback-ID", "brief:weekly:esp"),
                ],
                ..none()
            },
        );
    }
    for month in 0..4 {
        mb.add(
            BILLING,
            &[DANA],
            &format!("Your Acme invoice for month {}", month + 1),
            3.0 + 30.0 * f64::from(3 - month),
            None,
            Extra {
                reply_to: Some("billing@acme.example"),
                ..none()
            },
        );
    }

    // A cold recruiter email: received only, so not a contact under the default policy.
    mb.add(
        RECRUITER,
        &[DANA],
        "Exciting design lead opportunity",
        6.0,
        None,
        none(),
    );

    // A mailing list Dana reads but never writes to.
    for (i, who) in FILLER.iter().skip(15).enumerate() {
        mb.add(
            *who,
            &[p("Design Systems", "design-systems@lists.example")],
            &format!("[design-systems] Tokens question {}", i + 1),
            2.0 + 3.0 * i as f64,
            None,
            Extra {
                headers: &[
                    ("List-Id", "Design Systems <design-systems.lists.example>"),
                    ("Precedence", "list"),
                ],
                ..none()
            },
        );
    }

    // Everyone else: a few ordinary exchanges each, spread over half a year.
    let mut seed: u64 = 0x5eed_1234;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let topics = [
        "Project timeline",
        "Contract draft",
        "Lunch on Thursday?",
        "Moodboard feedback",
        "Quote for the website",
        "Workshop recap",
        "Photos from the event",
        "Logo options",
    ];
    for (i, who) in FILLER.iter().take(15).enumerate() {
        let exchanges = 1 + next(3);
        for k in 0..exchanges {
            let topic = topics[((i as u64 + k) % topics.len() as u64) as usize];
            let start = 10.0 + next(170) as f64 + 0.1 * k as f64;
            let (first_from, first_to) = if next(2) == 0 {
                (DANA, *who)
            } else {
                (*who, DANA)
            };
            let m0 = mb.add(first_from, &[first_to], topic, start, None, none());
            let replies = next(3);
            let mut parent = m0;
            let mut from_dana = first_from.email == ME;
            for r in 0..replies {
                let (f, t) = if from_dana {
                    (*who, DANA)
                } else {
                    (DANA, *who)
                };
                let ago = start - 0.5 - r as f64 * (0.5 + next(3) as f64);
                if ago < 0.2 {
                    break;
                }
                parent = mb.add(f, &[t], &format!("Re: {topic}"), ago, Some(&parent), none());
                from_dana = !from_dana;
            }
        }
    }
    mb
}

fn write_maildir(root: &Path, mb: &Mailbox) -> anyhow::Result<()> {
    for (i, m) in mb.messages.iter().enumerate() {
        let dir = match m.folder {
            "Sent" => root.join(".Sent").join("cur"),
            _ => root.join("cur"),
        };
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{:04}.demo:2,S", i + 1));
        std::fs::write(&path, m.text.replace('\n', "\r\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

pub fn run(ctx: &Ctx, explicit_db: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let work = std::env::temp_dir().join(format!("rapport-demo-{}", std::process::id()));
    let maildir = work.join("Maildir");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&maildir)?;
    let db = explicit_db.unwrap_or_else(|| work.join("demo.db"));
    let mailbox = build(ctx.now);
    write_maildir(&maildir, &mailbox)?;

    let engine = Engine::open(&db)?;
    engine.add_identity(ME)?;
    let summary = run_import(
        ctx,
        &engine,
        std::slice::from_ref(&maildir),
        &ImportOptions::default(),
    )?;
    // Clients get in touch every 30 days; John, a freelancer, every 14.
    engine.set_group_cadence("clients", Some(30))?;
    for who in [TOM.email, LENA.email, PRIYA.email, RAVI.email] {
        engine.set_group(who, "clients")?;
    }
    engine.set_cadence(JOHN.email, Some(14))?;
    let _ = std::fs::remove_dir_all(&maildir);

    let now = ctx.now;
    let top = engine.contacts(
        &ContactQuery {
            limit: 10,
            ..Default::default()
        },
        now,
    )?;
    // The overview shows what is current: threads that went quiet over 45 days ago are history.
    let mut recent = AwaitingQuery::new(now);
    recent.max_age_days = 45;
    recent.limit = 10;
    let awaiting = engine.awaiting(&recent)?;
    let neglected = engine.neglected(now, 20)?;
    let stats = engine.stats()?;
    if ctx.json {
        fmt::json(&serde_json::json!({
            "database": db.display().to_string(),
            "import": summary,
            "stats": stats,
            "top_contacts": top,
            "waiting_on_you": awaiting.iter().filter(|a| a.waiting_on == WaitingOn::Me).collect::<Vec<_>>(),
            "waiting_on_them": awaiting.iter().filter(|a| a.waiting_on == WaitingOn::Them).collect::<Vec<_>>(),
            "neglected": neglected,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Rapport demo: the mailbox of {ME_NAME} <{ME}>, {} messages, imported into {}",
        summary.messages_read,
        db.display()
    );
    println!(
        "{} threads, {} contacts from {} addresses; newsletters, lists, no-reply senders and cold mail were recorded but not made contacts.\n",
        stats.threads, stats.contacts, stats.addresses
    );
    println!("{}", heading("Top contacts (most recently in touch)"));
    print_contacts(&top, now);
    println!("\n{}", heading("Waiting on you (last 45 days)"));
    print_awaiting(&awaiting, WaitingOn::Me);
    println!(
        "\n{}",
        heading("Waiting on them (your last message 3 to 45 days old)")
    );
    print_awaiting(&awaiting, WaitingOn::Them);
    println!("\n{}", heading("Neglected (past their cadence)"));
    print_neglected(&neglected, now);
    let dbarg = db.display();
    println!("\nTry:");
    println!("  rapport --db {dbarg} explain {}", NEWSLETTER.email);
    println!("  rapport --db {dbarg} explain {}", BILLING.email);
    println!("  rapport --db {dbarg} contact {}", PRIYA.email);
    println!("  rapport --db {dbarg} thread \"<demo-001@northwind.example>\"");
    println!("  rapport --db {dbarg} awaiting");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_is_deterministic() {
        let a = build(1_700_000_000);
        let b = build(1_700_000_000);
        assert_eq!(a.messages.len(), b.messages.len());
        assert!(
            a.messages
                .iter()
                .zip(&b.messages)
                .all(|(x, y)| x.text == y.text)
        );
        assert!(a.messages.len() > 60, "{}", a.messages.len());
    }

    #[test]
    fn dates_are_rfc5322() {
        assert_eq!(rfc5322(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322(1_699_952_400), "Tue, 14 Nov 2023 09:00:00 +0000");
    }
}
