//! The shards' timelines added interval by interval.
//!
//! Each shard's points are offsets from its own phase start; shifted by how much later than
//! the earliest shard it started, they share one clock. The earliest shard's points are the
//! grid; every other point is added to the grid point its middle falls in (points past the
//! grid's end extend it). Counts add exactly. Percentiles of an interval cannot be added
//! without its histogram, which the results do not keep: the merged point's max is the
//! largest of the shards' (exact), its p99 the largest of the shards' p99 (an upper bound: a
//! p99 of values taken together never exceeds the largest p99 of the parts), and its p50 is
//! dropped. A point only one shard contributed to keeps that shard's figures.

use statebench_suites::results::TimelinePoint;

/// One grid point and how many shards' points went into it.
struct Slot {
    point: TimelinePoint,
    parts: usize,
}

/// `timelines` (each with its start after the earliest, in milliseconds) as one.
pub(super) fn add(timelines: &[(f64, &[TimelinePoint])]) -> Vec<TimelinePoint> {
    let Some(grid_at) =
        (0..timelines.len()).min_by(|a, b| timelines[*a].0.total_cmp(&timelines[*b].0))
    else {
        return Vec::new();
    };
    let (grid_offset, grid_points) = timelines[grid_at];
    let mut slots: Vec<Slot> = grid_points
        .iter()
        .map(|p| Slot {
            point: shifted(p, grid_offset),
            parts: 1,
        })
        .collect();
    for (at, (offset, points)) in timelines.iter().enumerate() {
        if at == grid_at {
            continue;
        }
        for p in points.iter().map(|p| shifted(p, *offset)) {
            let middle = (p.start_ms + p.end_ms) / 2.0;
            let i = slots
                .partition_point(|s| s.point.start_ms <= middle)
                .saturating_sub(1);
            let last = i + 1 >= slots.len();
            match slots.get_mut(i) {
                Some(slot) if middle < slot.point.end_ms || !last => slot.add(&p),
                _ => slots.push(Slot { point: p, parts: 1 }),
            }
        }
    }
    slots.into_iter().map(|s| s.point).collect()
}

impl Slot {
    fn add(&mut self, p: &TimelinePoint) {
        let q = &mut self.point;
        self.parts += 1;
        q.ops += p.ops;
        q.errors += p.errors;
        let length_s = (q.end_ms - q.start_ms) / 1_000.0;
        q.ops_per_s = if length_s > 0.0 {
            q.ops as f64 / length_s
        } else {
            0.0
        };
        q.response_p50_us = None;
        q.response_p99_us = larger(q.response_p99_us, p.response_p99_us);
        q.response_max_us = larger(q.response_max_us, p.response_max_us);
    }
}

fn larger(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// `p` on the earliest shard's clock.
fn shifted(p: &TimelinePoint, offset_ms: f64) -> TimelinePoint {
    if offset_ms == 0.0 {
        return p.clone();
    }
    TimelinePoint {
        start_ms: p.start_ms + offset_ms,
        end_ms: p.end_ms + offset_ms,
        ..p.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(start_ms: f64, ops: u64, p99: f64) -> TimelinePoint {
        TimelinePoint {
            start_ms,
            end_ms: start_ms + 1_000.0,
            ops,
            errors: ops / 10,
            ops_per_s: ops as f64,
            response_p50_us: Some(p99 / 2.0),
            response_p99_us: Some(p99),
            response_max_us: Some(p99 * 2.0),
        }
    }

    #[test]
    fn intervals_add_on_one_clock_with_the_largest_tail() {
        let a = [point(0.0, 100, 10.0), point(1_000.0, 100, 30.0)];
        // Started 50 ms later; its third second lies past the first shard's end.
        let b = [
            point(0.0, 50, 20.0),
            point(1_000.0, 50, 5.0),
            point(2_000.0, 50, 7.0),
        ];
        let merged = add(&[(0.0, &a), (50.0, &b)]);
        assert_eq!(merged.len(), 3);
        assert_eq!(
            merged.iter().map(|p| p.ops).collect::<Vec<_>>(),
            [150, 150, 50]
        );
        assert_eq!(merged[0].errors, 15);
        assert_eq!(merged[0].ops_per_s, 150.0);
        assert_eq!(merged[0].response_p99_us, Some(20.0));
        assert_eq!(merged[1].response_p99_us, Some(30.0));
        assert_eq!(merged[0].response_max_us, Some(40.0));
        assert_eq!(merged[0].response_p50_us, None);
        // A point of one shard alone keeps its figures, on the common clock.
        assert_eq!(merged[2].start_ms, 2_050.0);
        assert_eq!(merged[2].response_p50_us, Some(3.5));
    }

    #[test]
    fn one_timeline_is_itself() {
        let a = [point(0.0, 100, 10.0), point(1_000.0, 90, 30.0)];
        assert_eq!(add(&[(0.0, &a)]), a);
    }
}
