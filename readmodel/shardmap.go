package readmodel

import (
	"hash/maphash"
	"maps"
)

// shardMap is a persistent map split into shards: a change copies the
// shards it touches (edit), so that a view published before it keeps
// reading its own map. A tenant of a million alerts changes a few thousand
// entries per shard copied, never the whole.
type shardMap[K comparable, V any] struct {
	seed   maphash.Seed
	shards [mapShards]map[K]V
}

const mapShards = 256

func newShardMap[K comparable, V any]() *shardMap[K, V] {
	m := &shardMap[K, V]{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i] = map[K]V{}
	}
	return m
}

func (m *shardMap[K, V]) shard(k K) int { return int(maphash.Comparable(m.seed, k) % mapShards) }

func (m *shardMap[K, V]) get(k K) (V, bool) {
	v, ok := m.shards[m.shard(k)][k]
	return v, ok
}

// len returns the number of entries.
func (m *shardMap[K, V]) len() int {
	n := 0
	for _, sh := range m.shards {
		n += len(sh)
	}
	return n
}

// mapEditor changes a copy of a shardMap.
type mapEditor[K comparable, V any] struct {
	m      *shardMap[K, V]
	copied [mapShards]bool
}

// edit returns an editor of a copy of m sharing its shards until they
// change; a map no view has seen (a build) may be edited in place by
// marking every shard copied (inPlace).
func (m *shardMap[K, V]) edit(inPlace bool) *mapEditor[K, V] {
	if inPlace {
		e := &mapEditor[K, V]{m: m}
		for i := range e.copied {
			e.copied[i] = true
		}
		return e
	}
	c := &shardMap[K, V]{seed: m.seed, shards: m.shards}
	return &mapEditor[K, V]{m: c}
}

func (e *mapEditor[K, V]) writable(k K) map[K]V {
	i := e.m.shard(k)
	if !e.copied[i] {
		e.m.shards[i] = maps.Clone(e.m.shards[i])
		e.copied[i] = true
	}
	return e.m.shards[i]
}

func (e *mapEditor[K, V]) get(k K) (V, bool) { return e.m.get(k) }
func (e *mapEditor[K, V]) set(k K, v V)      { e.writable(k)[k] = v }
func (e *mapEditor[K, V]) del(k K)           { delete(e.writable(k), k) }
