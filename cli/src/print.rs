//! Tables shared by the commands and the demo.

use rapport_core::WaitingOn;

use crate::fmt::{Table, ago, person};

pub fn print_contacts(list: &[rapport_core::ContactSummary], now: i64) {
    let mut t = Table::new(&[
        "CONTACT",
        "LAST CONTACT",
        "IN",
        "OUT",
        "THREADS",
        "LAST IN",
        "LAST OUT",
    ])
    .max_width(0, 44);
    for c in list {
        t.row(vec![
            person(&c.name, &c.email),
            ago(c.last_contact, now),
            c.inbound_count.to_string(),
            c.outbound_count.to_string(),
            c.thread_count.to_string(),
            ago(c.last_inbound, now),
            ago(c.last_outbound, now),
        ]);
    }
    if !t.is_empty() {
        t.print();
    }
}

pub fn print_awaiting(items: &[rapport_core::AwaitingItem], who: WaitingOn) {
    let mut t = Table::new(&["#", "SINCE", "WITH", "SUBJECT"])
        .max_width(2, 40)
        .max_width(3, 56);
    for a in items.iter().filter(|a| a.waiting_on == who) {
        t.row(vec![
            a.thread_id.to_string(),
            format!("{}d", a.age_days),
            person(&a.contact_name, &a.contact_email),
            a.subject.clone(),
        ]);
    }
    if t.is_empty() {
        println!("  nothing");
    } else {
        t.print();
    }
}

pub fn print_neglected(items: &[rapport_core::NeglectedItem], now: i64) {
    let mut t = Table::new(&["CONTACT", "CADENCE", "LAST CONTACT", "OVERDUE"]).max_width(0, 44);
    for n in items {
        t.row(vec![
            person(&n.contact.name, &n.contact.email),
            n.contact
                .cadence_days
                .map(|d| format!("{d}d"))
                .unwrap_or_default(),
            ago(n.contact.last_contact, now),
            format!("{}d", n.overdue_days),
        ]);
    }
    if t.is_empty() {
        println!("  nobody");
    } else {
        t.print();
    }
}
