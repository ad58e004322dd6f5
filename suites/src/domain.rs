//! The domain every technique runs: a bank account whose balance may not go negative.
//!
//! State is 8 bytes of balance (little-endian) padded to the workload's value size; events
//! are `Opened`, `Deposited` and `Withdrawn`, each with an 8-byte amount, padded likewise.

use bytes::{BufMut, Bytes, BytesMut};
use statebench_adapters::{EventData, RecordedEvent};

/// The balance every loaded account starts with.
pub const INITIAL_BALANCE: i64 = 1_000;

/// What a client asks of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Add to the balance; always accepted.
    Deposit(u32),
    /// Take from the balance; rejected when the balance would go negative.
    Withdraw(u32),
}

/// What happened to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The account exists, with this balance.
    Opened(i64),
    /// Money came in.
    Deposited(u32),
    /// Money went out.
    Withdrawn(u32),
}

/// The state of an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// Never negative.
    pub balance: i64,
}

impl Account {
    /// The event a command causes, or `None` when the command is rejected.
    pub fn decide(&self, command: Command) -> Option<Event> {
        match command {
            Command::Deposit(amount) => Some(Event::Deposited(amount)),
            Command::Withdraw(amount) if self.balance >= i64::from(amount) => {
                Some(Event::Withdrawn(amount))
            }
            Command::Withdraw(_) => None,
        }
    }

    /// The account after `event`.
    pub fn apply(self, event: Event) -> Self {
        let balance = match event {
            Event::Opened(balance) => balance,
            Event::Deposited(amount) => self.balance + i64::from(amount),
            Event::Withdrawn(amount) => self.balance - i64::from(amount),
        };
        Self { balance }
    }
}

/// Random bytes that pad values and events to the workload's sizes, shared so that padding
/// costs a copy, not a generation.
#[derive(Clone, Debug)]
pub struct Payload {
    filler: Bytes,
}

impl Payload {
    /// Filler for values of up to `max_size` bytes.
    pub fn new(max_size: usize, seed: u64) -> Self {
        let mut x = seed | 1;
        let filler = (0..max_size)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect::<Vec<u8>>();
        Self {
            filler: filler.into(),
        }
    }

    /// An 8-byte number followed by filler up to `size` bytes.
    fn tagged(&self, number: i64, size: usize) -> Bytes {
        let mut out = BytesMut::with_capacity(size.max(8));
        out.put_i64_le(number);
        out.extend_from_slice(&self.filler[..size.saturating_sub(8).min(self.filler.len())]);
        out.freeze()
    }

    /// An account as a stored value.
    pub fn state(&self, account: Account, size: usize) -> Bytes {
        self.tagged(account.balance, size)
    }

    /// An event ready to append.
    pub fn event(&self, event: Event, size: usize) -> EventData {
        let (kind, number) = match event {
            Event::Opened(balance) => ("Opened", balance),
            Event::Deposited(amount) => ("Deposited", i64::from(amount)),
            Event::Withdrawn(amount) => ("Withdrawn", i64::from(amount)),
        };
        EventData {
            id: None,
            event_type: kind.to_owned(),
            data: self.tagged(number, size),
        }
    }
}

fn number(bytes: &[u8]) -> Result<i64, String> {
    let head: [u8; 8] = bytes
        .get(..8)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| format!("{} bytes: too short for an account", bytes.len()))?;
    Ok(i64::from_le_bytes(head))
}

/// Reads an account back from a stored value.
pub fn decode_state(value: &[u8]) -> Result<Account, String> {
    number(value).map(|balance| Account { balance })
}

/// Reads an event back from the store.
pub fn decode_event(recorded: &RecordedEvent) -> Result<Event, String> {
    let n = number(&recorded.data)?;
    let amount = || u32::try_from(n).map_err(|_| format!("amount {n} out of range"));
    match recorded.event_type.as_str() {
        "Opened" => Ok(Event::Opened(n)),
        "Deposited" => Ok(Event::Deposited(amount()?)),
        "Withdrawn" => Ok(Event::Withdrawn(amount()?)),
        other => Err(format!("unknown event type `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use statebench_adapters::Revision;

    #[test]
    fn withdrawals_never_overdraw() {
        let account = Account { balance: 10 };
        assert_eq!(
            account.decide(Command::Withdraw(10)),
            Some(Event::Withdrawn(10))
        );
        assert_eq!(account.decide(Command::Withdraw(11)), None);
        assert_eq!(account.apply(Event::Withdrawn(10)).balance, 0);
    }

    #[test]
    fn values_and_events_round_trip_at_their_size() {
        let payload = Payload::new(256, 9);
        let value = payload.state(Account { balance: -5 }, 100);
        assert_eq!(value.len(), 100);
        assert_eq!(decode_state(&value), Ok(Account { balance: -5 }));
        let data = payload.event(Event::Deposited(7), 64);
        let recorded = RecordedEvent {
            revision: Revision::from_raw(0),
            position: None,
            id: None,
            event_type: data.event_type,
            data: data.data,
        };
        assert_eq!(recorded.data.len(), 64);
        assert_eq!(decode_event(&recorded), Ok(Event::Deposited(7)));
        assert!(decode_state(b"short").is_err());
    }
}
