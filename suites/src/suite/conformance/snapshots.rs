//! Checks of the snapshots an event store keeps beside its streams.

use super::{Check, Needs, Plan, Verdict, ensure, shown, step};
use bytes::Bytes;
use statebench_adapters::{Revision, Snapshot, Snapshots};
use std::sync::Arc;

type Store = Arc<dyn Snapshots>;

pub(super) const CHECKS: &[Check<dyn Snapshots>] = &[
    Check {
        name: "snapshot-round-trip",
        needs: &[Needs::ReadYourWrites],
        run: round_trip,
    },
    Check {
        name: "snapshot-keeps-the-newest",
        needs: &[Needs::ReadYourWrites],
        run: keeps_newest,
    },
];

fn snapshot(revision: u64, state: &'static str) -> Snapshot {
    Snapshot {
        revision: Revision::from_raw(revision),
        state: Bytes::from_static(state.as_bytes()),
    }
}

fn round_trip(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move {
        let none = step("load", s.load_snapshot(&k).await)?;
        ensure(none.is_none(), || {
            "a stream never snapshotted has a snapshot".to_owned()
        })?;
        step("save", s.save_snapshot(&k, snapshot(3, "three")).await)?;
        let found = step("load", s.load_snapshot(&k).await)?.ok_or("load after save: none")?;
        ensure(found == snapshot(3, "three"), || {
            format!(
                "saved revision 3, loaded {} {}",
                found.revision,
                shown(&found.state)
            )
        })
    })
}

fn keeps_newest(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move {
        step("save", s.save_snapshot(&k, snapshot(5, "new")).await)?;
        step(
            "save an older one",
            s.save_snapshot(&k, snapshot(2, "old")).await,
        )?;
        let found = step("load", s.load_snapshot(&k).await)?.ok_or("load after save: none")?;
        ensure(found == snapshot(5, "new"), || {
            format!(
                "an older snapshot replaced revision 5: loaded {}",
                found.revision
            )
        })
    })
}
