package taskzip

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"sync"
)

// The small compressor: a DEFLATE encoder for inputs that fit in one
// 32 KiB window together with the dictionary, which is what a task and
// its events almost always are. It writes the same format as
// compress/flate at DefaultCompression (lazy matching with the same
// chain, lazy, good and nice lengths; one final block, dynamic or fixed
// Huffman codes or stored, whichever is smallest), so Inflate reads it
// like compress/flate's output. What it saves is the fixed cost of
// compress/flate on a small input, which was most of the ~40 us of an
// echo task's Append: the reset of its 640 KiB of hash tables, the
// hashing of the dictionary (here done once, and copied), and the
// generality of its Huffman builder. BenchmarkAppendEcho: 11-12 us and
// 217 bytes for the test's echo task, compress/flate 22-23 us (with its
// tables hot in the cache, as they seldom are in a server) and 224 bytes.
// Larger inputs go to compress/flate.

const (
	windowSize = 1 << 15 // DEFLATE's window: the farthest a match may reach
	minMatch   = 4       // as compress/flate: 3-byte matches rarely pay
	maxMatch   = 258
	hashBits   = 13
	// compress/flate's DefaultCompression (level 6) parameters.
	goodLen  = 8   // a previous match this long shortens the chain search
	lazyLen  = 16  // a previous match this long is taken without a search
	niceLen  = 128 // a match this long ends the search
	maxChain = 128 // candidates tried per position
)

// smallMax is the largest input the small compressor takes.
func smallMax() int { return windowSize - len(dict1) }

// primed is the hash state after the dictionary, computed once: each
// compression starts from a copy of it instead of hashing the dictionary.
type primed struct {
	head [1 << hashBits]uint16 // per hash: the latest position + 1 (0: none)
	prev []uint16              // per dictionary position: the previous one + 1 with its hash
}

var dictPrimed = sync.OnceValue(func() *primed {
	p := &primed{prev: make([]uint16, len(dict1))}
	for i := 0; i+minMatch <= len(dict1); i++ {
		h := hash4(dict1[i:])
		p.prev[i] = p.head[h]
		p.head[h] = uint16(i + 1)
	}
	return p
})

var smallDeflaters = sync.Pool{New: func() any { return new(smallDeflater) }}

// smallDeflater holds one compression's state; pooled, as it is ~100 KiB.
type smallDeflater struct {
	win      []byte // the dictionary, then the input
	head     [1 << hashBits]uint16
	prev     [windowSize]uint16
	tokens   []uint32 // see literal and match
	litFreq  [286]int32
	distFreq [30]int32
	huff     huffman
}

// A token is a literal byte, or a match: matchFlag | (length-3)<<15 | (distance-1).
const matchFlag = 1 << 31

func hash4(b []byte) uint32 {
	return (binary.LittleEndian.Uint32(b) * 0x9e3779b1) >> (32 - hashBits)
}

// appendSmall appends raw, compressed, to dst; len(raw) <= smallMax().
func appendSmall(dst, raw []byte) []byte {
	d := smallDeflaters.Get().(*smallDeflater)
	defer smallDeflaters.Put(d)
	st := dictPrimed()
	d.head = st.head
	copy(d.prev[:len(dict1)], st.prev)
	d.win = append(append(d.win[:0], dict1...), raw...)
	d.tokens = d.tokens[:0]
	clear(d.litFreq[:])
	clear(d.distFreq[:])
	// The dictionary's last positions could not be hashed without the
	// input's first bytes.
	for p := max(len(dict1)-minMatch+1, 0); p < len(dict1); p++ {
		d.insert(p)
	}
	d.match(len(dict1))
	return d.write(dst, raw)
}

// insert adds the position's 4 bytes to the hash chains and returns the
// previous position with the same hash + 1 (0: none).
func (d *smallDeflater) insert(p int) uint16 {
	if p+minMatch > len(d.win) {
		return 0
	}
	h := hash4(d.win[p:])
	cand := d.head[h]
	d.prev[p] = cand
	d.head[h] = uint16(p + 1)
	return cand
}

// match turns win[start:] into tokens by lazy matching, as zlib's
// deflate_slow does: a match is emitted only once the next position
// offers no longer one.
func (d *smallDeflater) match(start int) {
	n := len(d.win)
	prevLen, prevDist := 0, 0
	pending := false // win[p-1] is not emitted yet
	for p := start; p < n; {
		cand := d.insert(p)
		curLen, curDist := 0, 0
		if cand != 0 && prevLen < lazyLen {
			curLen, curDist = d.longest(p, cand, prevLen)
		}
		if prevLen >= minMatch && curLen <= prevLen {
			d.emitMatch(prevLen, prevDist)
			end := p - 1 + prevLen
			for q := p + 1; q < end; q++ {
				d.insert(q)
			}
			p, prevLen, pending = end, 0, false
			continue
		}
		if pending {
			d.emitLiteral(d.win[p-1])
		}
		prevLen, prevDist, pending = curLen, curDist, true
		p++
	}
	if pending {
		d.emitLiteral(d.win[n-1])
	}
}

// longest returns the longest match for win[p:] longer than best along
// the chain from cand, and its distance; 0, 0 when there is none of at
// least minMatch.
func (d *smallDeflater) longest(p int, cand uint16, best int) (int, int) {
	win := d.win
	maxLen := min(maxMatch, len(win)-p)
	if maxLen < minMatch {
		return 0, 0
	}
	chain := maxChain
	if best >= goodLen {
		chain >>= 2
	}
	bestDist := 0
	for ; cand != 0 && chain > 0; chain-- {
		q := int(cand) - 1
		if best < maxLen && win[q+best] == win[p+best] {
			if l := matchLen(win[q:q+maxLen], win[p:p+maxLen]); l > best {
				best, bestDist = l, p-q
				if l >= niceLen || l == maxLen {
					break
				}
			}
		}
		cand = d.prev[q]
	}
	if bestDist == 0 || best < minMatch {
		return 0, 0
	}
	return best, bestDist
}

// matchLen: how many leading bytes a and b (of equal length) share.
func matchLen(a, b []byte) int {
	n := 0
	for len(a)-n >= 8 {
		if x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < len(a) && a[n] == b[n] {
		n++
	}
	return n
}

func (d *smallDeflater) emitLiteral(b byte) {
	d.tokens = append(d.tokens, uint32(b))
	d.litFreq[b]++
}

func (d *smallDeflater) emitMatch(length, dist int) {
	d.tokens = append(d.tokens, matchFlag|uint32(length-3)<<15|uint32(dist-1))
	d.litFreq[257+lengthCode(length)]++
	d.distFreq[distCode(dist)]++
}

// The length and distance codes of RFC 1951 §3.2.5.
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// lengthCode is the code (0..28, of symbol 257+code) of a match length.
func lengthCode(length int) int {
	if length == maxMatch {
		return 28
	}
	l := uint32(length - 3)
	if l < 8 {
		return int(l)
	}
	nb := bits.Len32(l) - 1 // 3..7
	return 4*(nb-1) + int(l>>(nb-2)&3)
}

// distCode is the code (0..29) of a match distance.
func distCode(dist int) int {
	d := uint32(dist - 1)
	if d < 4 {
		return int(d)
	}
	nb := bits.Len32(d) - 1
	return 2*nb + int(d>>(nb-1)&1)
}

// write appends the tokens as one final block: dynamic Huffman, fixed
// Huffman or stored, whichever is smallest.
func (d *smallDeflater) write(dst, raw []byte) []byte {
	d.litFreq[256]++ // end of block
	if slices.Max(d.distFreq[:]) == 0 {
		d.distFreq[0] = 1 // a block needs one distance code to be readable
	}
	h := &d.huff
	h.build(d.litFreq[:], d.distFreq[:])
	extra := 0 // bits of the length and distance extras, alike in both codings
	for c := range 29 {
		extra += int(d.litFreq[257+c]) * int(lengthExtra[c])
	}
	for c := range 30 {
		extra += int(d.distFreq[c]) * int(distExtra[c])
	}
	dynamic := 3 + h.headerBits() + h.dataBits(d.litFreq[:], d.distFreq[:]) + extra
	fixed := 3 + fixedBits(d.litFreq[:], d.distFreq[:]) + extra
	stored := 8 * (len(raw) + 5*max(1, (len(raw)+0xfffe)/0xffff))
	if stored <= dynamic && stored <= fixed {
		return AppendStored(dst, raw)
	}
	w := bitWriter{out: dst}
	if dynamic < fixed {
		w.bits(1|2<<1, 3) // BFINAL, BTYPE 10
		h.writeHeader(&w)
	} else {
		w.bits(1|1<<1, 3) // BFINAL, BTYPE 01
		h.useFixed()
	}
	d.writeTokens(&w)
	return w.flush()
}

// writeTokens writes the tokens and the end of block with h's codes.
func (d *smallDeflater) writeTokens(w *bitWriter) {
	h := &d.huff
	for _, t := range d.tokens {
		if t&matchFlag == 0 {
			w.bits(uint64(h.litCode[t]), uint(h.litLen[t]))
			continue
		}
		length, dist := int(t>>15&0xff)+3, int(t&0x7fff)+1
		lc := lengthCode(length)
		w.bits(uint64(h.litCode[257+lc]), uint(h.litLen[257+lc]))
		w.bits(uint64(length-int(lengthBase[lc])), uint(lengthExtra[lc]))
		dc := distCode(dist)
		w.bits(uint64(h.dstCode[dc]), uint(h.dstLen[dc]))
		w.bits(uint64(dist-int(distBase[dc])), uint(distExtra[dc]))
	}
	w.bits(uint64(h.litCode[256]), uint(h.litLen[256]))
}

// bitWriter packs bits LSB first, as DEFLATE does.
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

// bits writes the n low bits of v; n <= 16.
func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	if w.n >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// flush writes what is left, padded to a byte, and returns the output.
func (w *bitWriter) flush() []byte {
	for w.n > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n -= min(w.n, 8)
	}
	return w.out
}
