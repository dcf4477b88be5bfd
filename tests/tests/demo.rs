//! `rapport demo`: the overview shows contacts, both kinds of waiting threads and a neglected
//! client; the newsletter and the no-reply sender are recorded but are not contacts, and
//! `rapport explain` says why.

use rapport_tests::rapport_json;

#[test]
fn demo_overview_and_explanations() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("demo.db");
    let v = rapport_json(&db, &["demo"]);
    let top = v["top_contacts"].as_array().unwrap();
    assert!(top.len() >= 8, "{v}");
    let emails: Vec<&str> = top.iter().map(|c| c["email"].as_str().unwrap()).collect();
    assert!(emails.contains(&"priya.shah@acme.example"));
    assert!(!v["waiting_on_you"].as_array().unwrap().is_empty());
    assert!(!v["waiting_on_them"].as_array().unwrap().is_empty());
    let neglected: Vec<&str> = v["neglected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap())
        .collect();
    assert!(
        neglected.contains(&"tom.baker@initech.example"),
        "{neglected:?}"
    );

    for machine in [
        "newsletter@weeklybrief.example",
        "no-reply@billing.acme.example",
    ] {
        let e = rapport_json(&db, &["explain", machine]);
        assert_eq!(e["known"], true, "{machine}");
        assert_eq!(e["is_contact"], false, "{machine}");
        assert!(e["messages_from"].as_i64().unwrap() > 0);
        assert!(!e["reason"].as_str().unwrap().is_empty());
    }
    // The cold recruiter wrote once and got no answer: not a contact under sent-only.
    let e = rapport_json(&db, &["explain", "kevin@talentsource.example"]);
    assert_eq!(e["is_contact"], false);
    assert!(e["reason"].as_str().unwrap().contains("received only"));
    // John writes from two spellings of one Gmail address: one contact.
    let c = rapport_json(&db, &["contact", "John.Doe+work@googlemail.com"]);
    assert_eq!(c["email"], "john.doe@gmail.com");
    assert_eq!(c["inbound_count"], 1);
    // Outlook's rewritten copy of Ravi's message is the same message.
    let t = rapport_json(
        &db,
        &[
            "thread",
            "<AM0PR01MB1234.outlook-rewritten@eurprd01.prod.outlook.example>",
        ],
    );
    assert_eq!(t["message_count"], 2);
}
