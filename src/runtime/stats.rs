//! Resource statistics in runc's `events` shape (runc's types.Stats), built
//! from libcgroups' stats so clients that parse runc's output can read ours.

use libcgroups::stats::{BlkioDeviceStat, MemoryData, Stats};
use serde_json::{Value, json};

fn mem(d: &MemoryData) -> Value {
    json!({ "limit": d.limit, "usage": d.usage, "max": d.max_usage, "failcnt": d.fail_count })
}

fn blkio(entries: &[BlkioDeviceStat]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|e| json!({ "major": e.major, "minor": e.minor, "op": e.op_type.clone().unwrap_or_default(), "value": e.value }))
            .collect(),
    )
}

/// The `data` object of a runc stats event.
pub fn runc_stats(s: &Stats) -> Value {
    let hugetlb: serde_json::Map<String, Value> = s
        .hugetlb
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                json!({ "usage": v.usage, "max": v.max_usage, "failcnt": v.fail_count }),
            )
        })
        .collect();
    json!({
        "cpu": {
            "usage": {
                "total": s.cpu.usage.usage_total,
                "percpu": s.cpu.usage.per_core_usage_total,
                "percpu_kernel": s.cpu.usage.per_core_usage_kernel,
                "percpu_user": s.cpu.usage.per_core_usage_user,
                "kernel": s.cpu.usage.usage_kernel,
                "user": s.cpu.usage.usage_user,
            },
            "throttling": {
                "periods": s.cpu.throttling.periods,
                "throttledPeriods": s.cpu.throttling.throttled_periods,
                "throttledTime": s.cpu.throttling.throttled_time,
            },
        },
        "memory": {
            "cache": s.memory.cache,
            "usage": mem(&s.memory.memory),
            "swap": mem(&s.memory.memswap),
            "kernel": mem(&s.memory.kernel),
            "kernelTCP": mem(&s.memory.kernel_tcp),
            "raw": s.memory.stats,
        },
        "pids": { "current": s.pids.current, "limit": s.pids.limit },
        "blkio": {
            "ioServiceBytesRecursive": blkio(&s.blkio.service_bytes),
            "ioServicedRecursive": blkio(&s.blkio.serviced),
            "ioQueueRecursive": blkio(&s.blkio.queued),
            "ioServiceTimeRecursive": blkio(&s.blkio.service_time),
            "ioWaitTimeRecursive": blkio(&s.blkio.wait_time),
            "ioMergedRecursive": blkio(&s.blkio.merged),
            "ioTimeRecursive": blkio(&s.blkio.time),
            "sectorsRecursive": blkio(&s.blkio.sectors),
        },
        "hugetlb": hugetlb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_runc_field_names() {
        let mut s = Stats::default();
        s.cpu.usage.usage_total = 7;
        s.memory.memory.usage = 9;
        s.pids.current = 2;
        let v = runc_stats(&s);
        assert_eq!(v["cpu"]["usage"]["total"], 7);
        assert_eq!(v["memory"]["usage"]["usage"], 9);
        assert_eq!(v["pids"]["current"], 2);
    }
}
