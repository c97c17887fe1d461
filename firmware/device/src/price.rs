//! The Price client: the tariff table of an in-home display or a price-responsive device.
//!
//! Sans-IO: ask the ESI for prices ([`request_current_price`], [`request_scheduled_prices`]),
//! feed it the Publish Price commands that come back or arrive unsolicited
//! ([`PriceClient::handle_publish`]) and the clock ([`handle_timeout`] at [`poll_timeout`]);
//! take from [`poll_output`] the commands to send and the changes of the price in force. Read
//! the price in force with [`current`].
//!
//! Rules (SE 1.0 Price client; `sep1-wire-facts.md` §2):
//! - a price runs from its start (start time 0 = the time of receipt, stored as that time) for
//!   its duration in minutes; duration 0xFFFF means "until changed": until the next stored
//!   price starts, or for ever if none follows;
//! - the price in force at a time is the stored price whose run contains it; where runs
//!   overlap, the one with the highest issuer event ID wins (a newer price takes priority, as
//!   in the EmberZNet reference client);
//! - a Publish Price with the issuer event ID of a stored price replaces it; one identical to
//!   the stored price (a republication) changes nothing, and a republication with start time 0
//!   keeps the start first given. A price with the start of a stored price replaces it when its
//!   issuer event ID is higher and is ignored when it is lower;
//! - a price already over when it arrives is ignored;
//! - the table holds [`PRICE_TABLE_CAPACITY`] prices. Prices that are over are dropped; when
//!   the table is full the stored price that ends first is dropped, never the price in force,
//!   so the newest Publish Price is always kept;
//! - when a stored price asks for an acknowledgement (PriceControl bit 0, an SE 1.1 field), a
//!   Price Acknowledgement is sent at once, once per issuer event ID (the client remembers the
//!   last [`ACKNOWLEDGED_MEMORY`] IDs it acknowledged); ignored prices are not acknowledged;
//! - [`PriceOutput::PriceChanged`] reports each change of the price in force (another price,
//!   none, or the price in force replaced by new content), when a price is published and when
//!   the clock reaches a start or an end. A caller that wakes late gets one change, to the price
//!   in force at the time it passes.
//!
//! [`request_current_price`]: PriceClient::request_current_price
//! [`request_scheduled_prices`]: PriceClient::request_scheduled_prices
//! [`handle_timeout`]: PriceClient::handle_timeout
//! [`poll_timeout`]: PriceClient::poll_timeout
//! [`poll_output`]: PriceClient::poll_output
//! [`current`]: PriceClient::current

use hanrig_sep::clusters::price::{
    DURATION_UNTIL_CHANGED, GetCurrentPrice, GetScheduledPrices, PriceAcknowledgement, PublishPrice,
};
use hanrig_sep::{Command, UtcTime};

/// Prices the table holds (the price in force and those scheduled after it).
pub const PRICE_TABLE_CAPACITY: usize = 4;

/// Issuer event IDs the client remembers having acknowledged; the oldest is forgotten first.
pub const ACKNOWLEDGED_MEMORY: usize = 8;

/// Outputs that can wait to be polled: one call produces at most two.
const OUTPUT_CAPACITY: usize = 4;

/// What the client asks its caller to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
// Returned by value, never stored: the client queues its outputs in a compact form.
#[allow(clippy::large_enum_variant)]
pub enum PriceOutput {
    /// Send this command to the ESI's Price server: [`Command::GetCurrentPrice`],
    /// [`Command::GetScheduledPrices`] or [`Command::PriceAcknowledgement`].
    Send(Command),
    /// The price in force changed; read it with [`PriceClient::current`].
    PriceChanged {
        /// The issuer event ID of the price now in force, `None` when no price is.
        issuer_event_id: Option<u32>,
    },
}

/// An output waiting to be polled, without the ~350 bytes of a [`Command`].
#[derive(Debug, Clone)]
enum Queued {
    GetCurrentPrice(GetCurrentPrice),
    GetScheduledPrices(GetScheduledPrices),
    Acknowledge(PriceAcknowledgement),
    Changed(Option<u32>),
}

#[derive(Debug, Clone)]
struct Entry {
    price: PublishPrice,
    /// Effective start, seconds since 2000.
    start: u32,
    /// End of a price with a duration; `None` for "until changed".
    end: Option<u32>,
}

/// The end of a price starting at `start` among `prices`: its own end, else the next start
/// after it; `None` when it never ends.
fn end_among<'a>(
    prices: impl Iterator<Item = &'a Entry>,
    start: u32,
    end: Option<u32>,
) -> Option<u32> {
    end.or_else(|| prices.map(|e| e.start).filter(|s| *s > start).min())
}

/// What [`PriceClient::store`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// Not stored.
    Ignored,
    /// Identical to the stored price.
    Unchanged,
    /// Stored; `true` when it replaced the price in force under the same ID.
    Yes(bool),
}

/// The Price client state machine.
#[derive(Debug, Clone, Default)]
pub struct PriceClient {
    /// Sorted by start, then issuer event ID.
    prices: heapless::Vec<Entry, PRICE_TABLE_CAPACITY>,
    acknowledged: heapless::Deque<u32, ACKNOWLEDGED_MEMORY>,
    /// The price in force as last reported.
    in_force: Option<u32>,
    /// The last time passed in.
    now: u32,
    outputs: heapless::Deque<Queued, OUTPUT_CAPACITY>,
}

impl PriceClient {
    /// A client with no prices.
    pub fn new() -> Self {
        Self::default()
    }

    /// The price in force at `now`, if any.
    pub fn current(&self, now: UtcTime) -> Option<&PublishPrice> {
        self.current_index(now.0).map(|i| &self.prices[i].price)
    }

    /// The stored prices, in order of start, with their effective start and end (`None`: no
    /// end yet).
    pub fn prices(&self) -> impl Iterator<Item = (&PublishPrice, UtcTime, Option<UtcTime>)> {
        self.prices
            .iter()
            .map(|e| (&e.price, UtcTime(e.start), self.end_of(e).map(UtcTime)))
    }

    /// The next output, if any. Call until `None` after every other call.
    pub fn poll_output(&mut self) -> Option<PriceOutput> {
        Some(match self.outputs.pop_front()? {
            Queued::GetCurrentPrice(c) => PriceOutput::Send(Command::GetCurrentPrice(c)),
            Queued::GetScheduledPrices(c) => PriceOutput::Send(Command::GetScheduledPrices(c)),
            Queued::Acknowledge(c) => PriceOutput::Send(Command::PriceAcknowledgement(c)),
            Queued::Changed(issuer_event_id) => PriceOutput::PriceChanged { issuer_event_id },
        })
    }

    /// When [`PriceClient::handle_timeout`] is next due: the next start of a stored price or
    /// end of a started one after the last time passed in, if any.
    pub fn poll_timeout(&self) -> Option<UtcTime> {
        let now = self.now;
        self.prices
            .iter()
            .filter_map(|e| {
                if e.start > now {
                    Some(e.start)
                } else {
                    self.end_of(e).filter(|end| *end > now)
                }
            })
            .min()
            .map(UtcTime)
    }

    /// Asks the ESI for the price in force (a Get Current Price to send);
    /// `rx_on_when_idle` tells it this device can also take unsolicited Publish Price commands.
    pub fn request_current_price(&mut self, rx_on_when_idle: bool) {
        let command_options = if rx_on_when_idle {
            GetCurrentPrice::RX_ON_WHEN_IDLE
        } else {
            0
        };
        self.push(Queued::GetCurrentPrice(GetCurrentPrice { command_options }));
    }

    /// Asks the ESI for up to `number_of_events` prices starting from `now` (0 = all): a Get
    /// Scheduled Prices to send.
    pub fn request_scheduled_prices(&mut self, now: UtcTime, number_of_events: u8) {
        self.push(Queued::GetScheduledPrices(GetScheduledPrices {
            start_time: now,
            number_of_events,
        }));
    }

    /// A Publish Price from the ESI, received at `now`.
    pub fn handle_publish(&mut self, now: UtcTime, price: &PublishPrice) {
        self.now = now.0;
        let stored = self.store(now.0, price);
        let id = price.issuer_event_id;
        if matches!(stored, Stored::Yes(_))
            && price.acknowledgement_required()
            && !self.acknowledged.iter().any(|a| *a == id)
        {
            if self.acknowledged.is_full() {
                self.acknowledged.pop_front();
            }
            let _ = self.acknowledged.push_back(id);
            debug!("price: acknowledge {}", id);
            self.push(Queued::Acknowledge(PriceAcknowledgement {
                provider_id: price.provider_id,
                issuer_event_id: id,
                price_ack_time: now,
                control: price.price_control.unwrap_or(0),
            }));
        }
        self.settle(now.0, stored == Stored::Yes(true));
    }

    /// Drops the prices that are over by `now` and reports a change of the price in force.
    pub fn handle_timeout(&mut self, now: UtcTime) {
        self.now = now.0;
        self.settle(now.0, false);
    }

    fn push(&mut self, output: Queued) {
        // The capacity covers the most one call can produce; a caller that never polls loses
        // the oldest output rather than the newest.
        if let Err(output) = self.outputs.push_back(output) {
            self.outputs.pop_front();
            let _ = self.outputs.push_back(output);
        }
    }

    fn end_of(&self, entry: &Entry) -> Option<u32> {
        end_among(self.prices.iter(), entry.start, entry.end)
    }

    fn current_index(&self, now: u32) -> Option<usize> {
        self.prices
            .iter()
            .enumerate()
            .filter(|(_, e)| e.start <= now && self.end_of(e).is_none_or(|end| now < end))
            .max_by_key(|(_, e)| e.price.issuer_event_id)
            .map(|(i, _)| i)
    }

    fn store(&mut self, now: u32, price: &PublishPrice) -> Stored {
        self.prune(now);
        let id = price.issuer_event_id;
        let same_id = self
            .prices
            .iter()
            .position(|e| e.price.issuer_event_id == id);
        if let Some(i) = same_id
            && self.prices[i].price == *price
        {
            return Stored::Unchanged;
        }
        let start = match (price.start_time, same_id) {
            (UtcTime::NOW, Some(i)) => self.prices[i].start,
            (UtcTime::NOW, None) => now,
            (start, _) => start.0,
        };
        if self
            .prices
            .iter()
            .any(|e| e.start == start && e.price.issuer_event_id > id)
        {
            debug!("price: {} ignored, a newer price has its start", id);
            return Stored::Ignored;
        }
        // What this price replaces: its earlier version, and older prices with its start.
        let replaced = |e: &Entry| e.price.issuer_event_id == id || e.start == start;
        let end = (price.duration_in_minutes != DURATION_UNTIL_CHANGED)
            .then(|| start.saturating_add(60 * u32::from(price.duration_in_minutes)));
        if end_among(self.prices.iter().filter(|e| !replaced(e)), start, end)
            .is_some_and(|end| end <= now)
        {
            debug!("price: {} ignored, already over", id);
            return Stored::Ignored;
        }
        let replaced_in_force = same_id.is_some() && self.in_force == Some(id);
        self.prices.retain(|e| !replaced(e));
        if self.prices.is_full() {
            let in_force = self.current_index(now);
            let victim = self
                .prices
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != in_force)
                .min_by_key(|(_, e)| {
                    (
                        self.end_of(e).map_or(u64::MAX, u64::from),
                        e.price.issuer_event_id,
                    )
                })
                .map(|(i, _)| i);
            let Some(victim) = victim else {
                return Stored::Ignored;
            };
            let _dropped = self.prices.remove(victim);
            debug!(
                "price: table full, dropped {}",
                _dropped.price.issuer_event_id
            );
        }
        let at = self
            .prices
            .iter()
            .position(|e| (e.start, e.price.issuer_event_id) > (start, id))
            .unwrap_or(self.prices.len());
        // The table had room, or room was made.
        let _ = self.prices.insert(
            at,
            Entry {
                price: price.clone(),
                start,
                end,
            },
        );
        Stored::Yes(replaced_in_force)
    }

    /// Drops the prices over by `now`.
    fn prune(&mut self, now: u32) {
        // Decide for every price before dropping any: dropping one can lengthen a price that
        // ran "until changed".
        let mut over = [false; PRICE_TABLE_CAPACITY];
        for (flag, e) in over.iter_mut().zip(self.prices.iter()) {
            *flag = self.end_of(e).is_some_and(|end| end <= now);
        }
        for (i, _) in over.iter().enumerate().rev().filter(|(_, over)| **over) {
            self.prices.remove(i);
        }
    }

    /// Drops what is over and reports the price in force if it changed (or if `replaced`: the
    /// price in force got new content).
    fn settle(&mut self, now: u32, replaced: bool) {
        self.prune(now);
        let in_force = self
            .current_index(now)
            .map(|i| self.prices[i].price.issuer_event_id);
        if replaced || in_force != self.in_force {
            self.in_force = in_force;
            debug!("price: in force {}", in_force);
            self.push(Queued::Changed(in_force));
        }
    }
}
