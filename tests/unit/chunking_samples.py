"""Source in the languages we parse, shaped like real code: classes with methods, long functions, doc
comments, nested blocks. Python is also tested on real files of the standard library."""

GO = '''package cache

import (
	"errors"
	"sync"
	"time"
)

// ErrMissing is returned when a key is not cached.
var ErrMissing = errors.New("cache: key not found")

// Entry is one cached value and when it expires.
type Entry struct {
	Value   []byte
	Expires time.Time
}

// Cache is a map of entries guarded by a mutex, evicting expired entries lazily.
type Cache struct {
	mu      sync.Mutex
	entries map[string]Entry
	ttl     time.Duration
}

// New returns an empty cache whose entries live for ttl.
func New(ttl time.Duration) *Cache {
	return &Cache{entries: make(map[string]Entry), ttl: ttl}
}

// Get returns the value of key, or ErrMissing when it is absent or expired.
func (c *Cache) Get(key string, now time.Time) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	entry, ok := c.entries[key]
	if !ok {
		return nil, ErrMissing
	}
	if now.After(entry.Expires) {
		delete(c.entries, key)
		return nil, ErrMissing
	}
	return entry.Value, nil
}

// Sweep removes every expired entry and reports how many went, retrying keys that were
// refreshed while it ran so that a busy cache is still swept in bounded time.
func (c *Cache) Sweep(now time.Time, maxRounds int) (removed int) {
	for round := 0; round < maxRounds; round++ {
		c.mu.Lock()
		expired := make([]string, 0, len(c.entries))
		for key, entry := range c.entries {
			if now.After(entry.Expires) {
				expired = append(expired, key)
			}
		}
		for _, key := range expired {
			if entry, ok := c.entries[key]; ok && now.After(entry.Expires) {
				delete(c.entries, key)
				removed++
			}
		}
		c.mu.Unlock()
		if len(expired) == 0 {
			return removed
		}
		switch {
		case removed > len(c.entries):
			now = now.Add(c.ttl / 2)
		case removed == 0:
			return removed
		default:
			now = now.Add(time.Millisecond)
		}
	}
	return removed
}
'''

TYPESCRIPT = '''import { EventEmitter } from "events";

/** Options of an upload: where to, and how hard to try. */
export interface UploadOptions {
  url: string;
  retries: number;
  backoffMs: number;
}

/**
 * Uploads files in order, retrying failed ones with exponential backoff,
 * and reports progress as events.
 */
export class Uploader extends EventEmitter {
  private queue: string[] = [];

  constructor(private readonly options: UploadOptions) {
    super();
  }

  enqueue(path: string): void {
    this.queue.push(path);
    this.emit("queued", path, this.queue.length);
  }

  async retryFailedUpload(path: string, attempt: number): Promise<boolean> {
    const delay = this.options.backoffMs * Math.pow(2, attempt);
    await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      const response = await fetch(this.options.url, { method: "PUT", body: path });
      if (!response.ok) {
        throw new Error(`upload of ${path} failed with ${response.status}`);
      }
      this.emit("uploaded", path);
      return true;
    } catch (error) {
      if (attempt + 1 >= this.options.retries) {
        this.emit("failed", path, error);
        return false;
      }
      return this.retryFailedUpload(path, attempt + 1);
    }
  }

  async drain(): Promise<number> {
    let uploaded = 0;
    while (this.queue.length > 0) {
      const path = this.queue.shift()!;
      if (await this.retryFailedUpload(path, 0)) {
        uploaded += 1;
      }
    }
    return uploaded;
  }
}

export const parseHTTPResponse = (raw: string): { status: number; body: string } => {
  const [head, ...rest] = raw.split("\\r\\n\\r\\n");
  const status = Number(head.split(" ")[1]);
  return { status, body: rest.join("\\r\\n\\r\\n") };
};
'''

JAVA = '''package org.example.ledger;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

/** A double-entry ledger that refuses unbalanced transactions. */
public final class Ledger {
    private final List<Entry> entries = new ArrayList<>();

    /** One line of a transaction. */
    public record Entry(String account, BigDecimal amount) {}

    /**
     * Records a transaction when its entries balance to zero.
     *
     * @throws IllegalArgumentException when they do not
     */
    public void record(List<Entry> transaction) {
        BigDecimal total = BigDecimal.ZERO;
        for (Entry entry : transaction) {
            total = total.add(entry.amount());
        }
        if (total.signum() != 0) {
            throw new IllegalArgumentException("unbalanced transaction: " + total);
        }
        entries.addAll(transaction);
    }

    public BigDecimal balance(String account) {
        BigDecimal balance = BigDecimal.ZERO;
        for (Entry entry : entries) {
            if (entry.account().equals(account)) {
                balance = balance.add(entry.amount());
            }
        }
        return balance;
    }

    public int reconcileQuarterlyStatement(List<Entry> statement, String account) {
        int mismatches = 0;
        int index = 0;
        for (Entry line : statement) {
            while (index < entries.size() && !entries.get(index).account().equals(account)) {
                index++;
            }
            if (index >= entries.size()) {
                mismatches += 1;
                continue;
            }
            if (entries.get(index).amount().compareTo(line.amount()) != 0) {
                mismatches += 1;
            }
            index++;
        }
        return mismatches;
    }
}
'''

RUST = '''use std::collections::HashMap;
use std::fmt;

/// A token bucket: `capacity` tokens, refilled at `rate` per second.
#[derive(Debug, Clone)]
pub struct Bucket {
    capacity: u32,
    tokens: f64,
    rate: f64,
    last: f64,
}

impl Bucket {
    /// A full bucket.
    pub fn new(capacity: u32, rate: f64) -> Self {
        Bucket { capacity, tokens: capacity as f64, rate, last: 0.0 }
    }

    /// Takes one token at time `now`, refilling first; false when the bucket is empty.
    pub fn take(&mut self, now: f64) -> bool {
        let elapsed = (now - self.last).max(0.0);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity as f64);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} tokens", self.tokens.floor(), self.capacity)
    }
}

/// Rate limits per client, creating buckets on first use.
pub struct Limiter {
    buckets: HashMap<String, Bucket>,
    capacity: u32,
    rate: f64,
}

impl Limiter {
    pub fn allow(&mut self, client: &str, now: f64) -> bool {
        let (capacity, rate) = (self.capacity, self.rate);
        let bucket = self
            .buckets
            .entry(client.to_string())
            .or_insert_with(|| Bucket::new(capacity, rate));
        match bucket.take(now) {
            true => true,
            false => {
                if self.buckets.len() > 10_000 {
                    self.buckets.retain(|_, b| b.tokens < b.capacity as f64);
                }
                false
            }
        }
    }
}
'''

JAVASCRIPT = '''"use strict";

const crypto = require("crypto");

// Content hashes of files, cached by path and modification time.
class HashCache {
  constructor(readFile) {
    this.readFile = readFile;
    this.byPath = new Map();
  }

  async hash(path, mtime) {
    const cached = this.byPath.get(path);
    if (cached && cached.mtime === mtime) {
      return cached.digest;
    }
    const content = await this.readFile(path);
    const digest = crypto.createHash("sha256").update(content).digest("hex");
    this.byPath.set(path, { mtime, digest });
    return digest;
  }
}

function diffManifests(before, after) {
  const added = [];
  const removed = [];
  for (const [path, blob] of Object.entries(after)) {
    if (before[path] !== blob) {
      added.push(path);
    }
  }
  for (const path of Object.keys(before)) {
    if (!(path in after)) {
      removed.push(path);
    }
  }
  return { added: added.sort(), removed: removed.sort() };
}

module.exports = { HashCache, diffManifests };
'''

SAMPLES = {"go": GO, "typescript": TYPESCRIPT, "java": JAVA, "rust": RUST, "javascript": JAVASCRIPT}
