//! Thread trees with notmuch's semantics, computed from a thread's messages alone so that any
//! import order gives the same tree. Membership (which messages form a thread) is kept by the
//! store as connected components over Message-ID, In-Reply-To and References; this module
//! decides the shape inside one thread. Sans-I/O.

use std::collections::HashMap;

/// One message of a thread, as the tree builder needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadMember {
    /// Stable key (used to break ties between equal dates).
    pub key: String,
    /// Every id the message is known by.
    pub ids: Vec<String>,
    pub date: i64,
    /// The id the message names as its parent (see `Envelope::parent_id`).
    pub parent_id: Option<String>,
    /// Every referenced id, References order first, then In-Reply-To.
    pub references: Vec<String>,
}

/// A node of the built tree: an index into the input slice and the replies below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    pub index: usize,
    pub children: Vec<TreeNode>,
}

/// Builds the reply tree of one thread.
///
/// Messages are taken oldest first. A message hangs below the message its parent id names when
/// that message is in the thread; otherwise it is a candidate root. All candidates but the last
/// are then re-attached below the deepest message their References name (so a "fake root" that
/// replies to a missing message cannot take over the thread), and the rest become roots.
pub fn build_tree(members: &[ThreadMember]) -> Vec<TreeNode> {
    let n = members.len();
    if n == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        (members[a].date, &members[a].key).cmp(&(members[b].date, &members[b].key))
    });
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(n * 2);
    for &i in &order {
        for id in &members[i].ids {
            by_id.entry(id.as_str()).or_insert(i);
        }
    }
    let in_thread_parent = |i: usize| -> Option<usize> {
        members[i]
            .parent_id
            .as_deref()
            .and_then(|p| by_id.get(p).copied())
            .filter(|&p| p != i)
    };

    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut candidates: Vec<usize> = Vec::new();
    for &i in &order[1..] {
        match in_thread_parent(i) {
            Some(p) => parent[i] = Some(p),
            None => candidates.push(i),
        }
    }
    let first = order[0];
    match in_thread_parent(first) {
        Some(p) if !candidates.is_empty() => parent[first] = Some(p),
        _ => candidates.push(first),
    }

    let children_of = |parent: &[Option<usize>]| {
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &i in &order {
            if let Some(p) = parent[i] {
                children[p].push(i);
            }
        }
        children
    };

    // Depth of every message reachable from a candidate root.
    let mut depth: Vec<Option<usize>> = vec![None; n];
    {
        let children = children_of(&parent);
        let mut stack: Vec<(usize, usize)> = candidates.iter().map(|&c| (c, 0)).collect();
        while let Some((i, d)) = stack.pop() {
            if depth[i].is_some() {
                continue;
            }
            depth[i] = Some(d);
            stack.extend(children[i].iter().map(|&c| (c, d + 1)));
        }
    }

    let is_descendant = |parent: &[Option<usize>], mut node: usize, ancestor: usize| -> bool {
        let mut steps = 0;
        while let Some(p) = parent[node] {
            if p == ancestor {
                return true;
            }
            node = p;
            steps += 1;
            if steps > n {
                return true;
            }
        }
        false
    };

    let mut roots: Vec<usize> = Vec::new();
    let last = candidates.len().saturating_sub(1);
    for (k, &c) in candidates.iter().enumerate() {
        if k < last || !roots.is_empty() {
            let mut best: Option<(usize, usize)> = None;
            for r in &members[c].references {
                let Some(&p) = by_id.get(r.as_str()) else {
                    continue;
                };
                if p == c || is_descendant(&parent, p, c) {
                    continue;
                }
                let d = depth[p].unwrap_or(0);
                if best.is_none_or(|(_, bd)| d > bd) {
                    best = Some((p, d));
                }
            }
            match best {
                Some((p, _)) => parent[c] = Some(p),
                None => roots.push(c),
            }
        } else {
            roots.push(c);
        }
    }

    // Messages caught in reference cycles were reached from no root: show them as roots.
    let mut reached = vec![false; n];
    let children = children_of(&parent);
    let mut stack: Vec<usize> = roots.clone();
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut reached[i], true) {
            stack.extend(&children[i]);
        }
    }
    for &i in &order {
        if !reached[i] {
            parent[i] = None;
            roots.push(i);
            let mut stack = vec![i];
            while let Some(j) = stack.pop() {
                if !std::mem::replace(&mut reached[j], true) {
                    stack.extend(&children[j]);
                }
            }
        }
    }
    let children = children_of(&parent);
    let rank: HashMap<usize, usize> = order.iter().enumerate().map(|(r, &i)| (i, r)).collect();
    roots.sort_by_key(|i| rank.get(i).copied().unwrap_or(usize::MAX));

    fn build(i: usize, children: &[Vec<usize>], seen: &mut [bool]) -> TreeNode {
        seen[i] = true;
        TreeNode {
            index: i,
            children: children[i]
                .iter()
                .filter(|&&c| !seen[c])
                .copied()
                .collect::<Vec<_>>()
                .into_iter()
                .map(|c| build(c, children, seen))
                .collect(),
        }
    }
    let mut seen = vec![false; n];
    roots
        .into_iter()
        .filter(|&r| !seen[r])
        .collect::<Vec<_>>()
        .into_iter()
        .map(|r| build(r, &children, &mut seen))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, date: i64, parent: Option<&str>, refs: &[&str]) -> ThreadMember {
        ThreadMember {
            key: id.into(),
            ids: vec![id.into()],
            date,
            parent_id: parent.map(Into::into),
            references: refs.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn shape(members: &[ThreadMember], nodes: &[TreeNode]) -> String {
        nodes
            .iter()
            .map(|n| {
                if n.children.is_empty() {
                    members[n.index].key.clone()
                } else {
                    format!("{}({})", members[n.index].key, shape(members, &n.children))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn fake_root_does_not_take_over() {
        // notmuch's threading/ghost-root case.
        let ms = vec![
            m(
                "fake",
                100,
                Some("nonexistent"),
                &["real", "child", "nonexistent"],
            ),
            m("real", 100, None, &[]),
            m("child", 200, Some("real"), &["real"]),
            m("gc", 300, Some("child"), &["real", "child"]),
            m("gc2", 400, Some("child"), &["real", "child"]),
            m("ggc", 500, Some("gc"), &["real", "gc"]),
        ];
        assert_eq!(
            shape(&ms, &build_tree(&ms)),
            "real(child(fake gc(ggc) gc2))"
        );
        let mut reversed = ms.clone();
        reversed.reverse();
        assert_eq!(
            shape(&reversed, &build_tree(&reversed)),
            "real(child(fake gc(ggc) gc2))"
        );
    }

    #[test]
    fn in_reply_to_beats_references() {
        let ms = vec![
            m("root", 100, None, &[]),
            m("child", 200, Some("root"), &["root-typo", "root"]),
            m("gc", 300, Some("child"), &["child", "root"]),
        ];
        assert_eq!(shape(&ms, &build_tree(&ms)), "root(child(gc))");
    }

    #[test]
    fn replies_to_a_ghost_stay_separate_roots() {
        // notmuch's RT case: both RT mails reference a ticket id nobody has.
        let ms = vec![
            m("fyi", 100, None, &[]),
            m("auto", 110, Some("fyi"), &["ticket", "fyi"]),
            m("resolved", 900, Some("ticket"), &["ticket"]),
        ];
        assert_eq!(shape(&ms, &build_tree(&ms)), "fyi(auto) resolved");
    }

    #[test]
    fn cycles_do_not_lose_messages() {
        let ms = vec![
            m("a", 100, Some("b"), &["b"]),
            m("b", 200, Some("a"), &["a"]),
        ];
        let tree = build_tree(&ms);
        let total = |t: &[TreeNode]| -> usize {
            fn count(n: &TreeNode) -> usize {
                1 + n.children.iter().map(count).sum::<usize>()
            }
            t.iter().map(count).sum()
        };
        assert_eq!(total(&tree), 2);
    }
}
