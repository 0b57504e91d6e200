package agent

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	sdkpb "mediamesh/api/mcm/sdk"
)

// DBFile is the store's file name in the data directory.
const DBFile = "agent.db"

// Buckets of the store: one JSON record per key (the id); meta holds the
// token secret.
var (
	bucketProxies = []byte("proxies")
	bucketConns   = []byte("connections")
	bucketBridges = []byte("bridges")
	bucketMeta    = []byte("meta")
	keySecret     = []byte("secret")
)

// store persists the registry in bbolt. Every event's changes are one
// batch, written in one transaction, so the file always holds the state
// after some whole event.
type store struct{ db *bolt.DB }

// openStore opens (creating) dir/agent.db. A second agent on the same
// directory fails here instead of corrupting the first one's state.
// noSync skips fsync (tests and fuzzing only).
func openStore(dir string, noSync bool) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	db, err := bolt.Open(filepath.Join(dir, DBFile), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Join(dir, DBFile), err)
	}
	db.NoSync = noSync
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketProxies, bucketConns, bucketBridges, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if meta.Get(keySecret) == nil {
			secret := make([]byte, 32)
			_, _ = rand.Read(secret)
			return meta.Put(keySecret, secret)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

// connRecord is a Conn as stored: its config in protobuf's binary form.
type connRecord struct {
	Conn
	Config []byte `json:"config"`
}

// load reads the whole registry.
func (s *store) load() (*State, error) {
	st := NewState()
	err := s.db.View(func(tx *bolt.Tx) error {
		st.Secret = append([]byte(nil), tx.Bucket(bucketMeta).Get(keySecret)...)
		err := tx.Bucket(bucketProxies).ForEach(func(k, v []byte) error {
			p := &Proxy{}
			if err := json.Unmarshal(v, p); err != nil {
				return fmt.Errorf("proxy %q: %w", k, err)
			}
			st.Proxies[p.ID] = p
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketConns).ForEach(func(k, v []byte) error {
			var r connRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("connection %q: %w", k, err)
			}
			c := r.Conn
			c.Config = &sdkpb.ConnectionConfig{}
			if err := proto.Unmarshal(r.Config, c.Config); err != nil {
				return fmt.Errorf("connection %q config: %w", k, err)
			}
			st.Conns[c.ID] = &c
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketBridges).ForEach(func(k, v []byte) error {
			b := &Bridge{}
			if err := json.Unmarshal(v, b); err != nil {
				return fmt.Errorf("bridge %q: %w", k, err)
			}
			st.Bridges[b.ID] = b
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", DBFile, err)
	}
	return st, nil
}

// batch collects one event's record changes.
type batch struct{ ops []op }

type op struct {
	bucket []byte
	key    string
	value  []byte // nil: delete
}

func (b *batch) empty() bool { return len(b.ops) == 0 }

func (b *batch) putProxy(p *Proxy) { b.put(bucketProxies, p.ID, p) }

func (b *batch) putConn(c *Conn) {
	cfg, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c.Config)
	b.put(bucketConns, c.ID, connRecord{Conn: *c, Config: cfg})
}

func (b *batch) putBridge(br *Bridge) { b.put(bucketBridges, br.ID, br) }

func (b *batch) put(bucket []byte, key string, v any) {
	// Plain structs of strings, numbers and times (from the agent's
	// clock, years 0-9999): encoding cannot fail.
	j, _ := json.Marshal(v)
	b.ops = append(b.ops, op{bucket, key, j})
}

func (b *batch) del(bucket []byte, key string) { b.ops = append(b.ops, op{bucket, key, nil}) }

// commit writes the batch in one transaction.
func (s *store) commit(b *batch) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, o := range b.ops {
			bk := tx.Bucket(o.bucket)
			var err error
			if o.value == nil {
				err = bk.Delete([]byte(o.key))
			} else {
				err = bk.Put([]byte(o.key), o.value)
			}
			if err != nil {
				return fmt.Errorf("%s %q: %w", o.bucket, o.key, err)
			}
		}
		return nil
	})
}
