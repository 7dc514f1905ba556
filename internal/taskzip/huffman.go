package taskzip

import (
	"math/bits"
	"slices"
)

// huffman holds the codes of one block of the small compressor: literal
// and length codes, distance codes, and for a dynamic block the
// code-length code its header is written in (RFC 1951 §3.2.7).
type huffman struct {
	litLen  [286]uint8
	litCode [286]uint16 // bit-reversed, ready for the LSB-first stream
	dstLen  [30]uint8
	dstCode [30]uint16
	nlit    int // literal/length lengths in the header (257..286)
	ndist   int // distance lengths in the header (1..30)
	clLen   [19]uint8
	clCode  [19]uint16
	clFreq  [19]int32
	ncl     int      // code-length lengths in the header (4..19)
	rle     []uint16 // the header's lengths, run-length coded: symbol | extra<<5
	seq     []uint8
	// scratch of lengths; a leaf is freq<<16 | symbol, so that sorting
	// the numbers orders by frequency, then symbol
	leaves []uint64
	freq   []int32
	parent []int32
	depth  []uint8
}

// clOrder is the order code-length lengths are written in.
var clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// build makes the dynamic codes for these frequencies and the header
// that describes them.
func (h *huffman) build(litFreq, distFreq []int32) {
	h.lengths(litFreq, h.litLen[:], 15)
	h.lengths(distFreq, h.dstLen[:], 15)
	canonical(h.litLen[:], h.litCode[:])
	canonical(h.dstLen[:], h.dstCode[:])
	h.nlit = len(h.litLen)
	for h.nlit > 257 && h.litLen[h.nlit-1] == 0 {
		h.nlit--
	}
	h.ndist = len(h.dstLen)
	for h.ndist > 1 && h.dstLen[h.ndist-1] == 0 {
		h.ndist--
	}
	h.runLengths()
	h.lengths(h.clFreq[:], h.clLen[:], 7)
	canonical(h.clLen[:], h.clCode[:])
	h.ncl = len(clOrder)
	for h.ncl > 4 && h.clLen[clOrder[h.ncl-1]] == 0 {
		h.ncl--
	}
}

// lengths sets lens[s] to the code length of each symbol s with a
// nonzero frequency, none longer than maxBits, and 0 for the others. A
// lone symbol gets a partner, so that every code is complete (zlib
// refuses an incomplete code-length code).
func (h *huffman) lengths(freq []int32, lens []uint8, maxBits int) {
	clear(lens)
	h.leaves = h.leaves[:0]
	for s, f := range freq {
		if f > 0 {
			h.leaves = append(h.leaves, uint64(f)<<16|uint64(s))
		}
	}
	switch len(h.leaves) {
	case 0:
		return
	case 1:
		sym := int(h.leaves[0] & 0xffff)
		lens[sym] = 1
		lens[min(1, sym)^1] = 1 // symbol 1, or 0 when the lone one is 1+
		return
	}
	// Halving the frequencies (again at each try) flattens the tree
	// until it fits maxBits.
	for shift := uint(0); !h.tryLengths(lens, maxBits, shift); shift = 1 {
	}
}

// tryLengths shifts h.leaves' frequencies right (keeping them at least
// 1), builds a Huffman tree of them by the two-queue method and sets lens
// from its depths; false when a code would exceed maxBits.
func (h *huffman) tryLengths(lens []uint8, maxBits int, shift uint) bool {
	n := len(h.leaves)
	for i, l := range h.leaves {
		h.leaves[i] = max(l>>16>>shift, 1)<<16 | l&0xffff
	}
	slices.Sort(h.leaves)
	h.freq = slices.Grow(h.freq[:0], 2*n)[:2*n-1]
	h.parent = slices.Grow(h.parent[:0], 2*n)[:2*n-1]
	h.depth = slices.Grow(h.depth[:0], 2*n)[:2*n-1]
	for i, l := range h.leaves {
		h.freq[i] = int32(l >> 16)
	}
	// Leaves are nodes 0..n-1 (ascending), internal nodes n.. in the
	// order made, which is ascending too: the two smallest are at the
	// heads of the two queues.
	li, ni := 0, n
	pop := func(next int) int {
		if li < n && (ni >= next || h.freq[li] <= h.freq[ni]) {
			li++
			return li - 1
		}
		ni++
		return ni - 1
	}
	for next := n; next < 2*n-1; next++ {
		a := pop(next)
		b := pop(next)
		h.freq[next] = h.freq[a] + h.freq[b]
		h.parent[a], h.parent[b] = int32(next), int32(next)
	}
	root := 2*n - 2
	h.depth[root] = 0
	for i := root - 1; i >= 0; i-- {
		h.depth[i] = h.depth[h.parent[i]] + 1
	}
	for i, l := range h.leaves {
		if int(h.depth[i]) > maxBits {
			clear(lens)
			return false
		}
		lens[l&0xffff] = h.depth[i]
	}
	return true
}

// canonical assigns the canonical codes of RFC 1951 §3.2.2 to lens,
// bit-reversed for the LSB-first stream.
func canonical(lens []uint8, codes []uint16) {
	var count, next [16]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	code := uint16(0)
	for b := 1; b < 16; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for s, l := range lens {
		if l == 0 {
			codes[s] = 0
			continue
		}
		codes[s] = bits.Reverse16(next[l]) >> (16 - l)
		next[l]++
	}
}

// runLengths codes the literal/length and distance lengths as one
// sequence of code-length symbols: 16 repeats the previous length 3-6
// times, 17 and 18 give 3-10 and 11-138 zeros.
func (h *huffman) runLengths() {
	h.rle = h.rle[:0]
	clear(h.clFreq[:])
	h.seq = append(append(h.seq[:0], h.litLen[:h.nlit]...), h.dstLen[:h.ndist]...)
	seq := h.seq
	for i := 0; i < len(seq); {
		l := seq[i]
		run := 1
		for i+run < len(seq) && seq[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				r := min(run, 138)
				h.emitCL(18, r-11)
				run -= r
			}
			if run >= 3 {
				h.emitCL(17, run-3)
				run = 0
			}
			for ; run > 0; run-- {
				h.emitCL(0, 0)
			}
			continue
		}
		h.emitCL(int(l), 0)
		run--
		for run >= 3 {
			r := min(run, 6)
			h.emitCL(16, r-3)
			run -= r
		}
		for ; run > 0; run-- {
			h.emitCL(int(l), 0)
		}
	}
}

func (h *huffman) emitCL(sym, extra int) {
	h.rle = append(h.rle, uint16(sym)|uint16(extra)<<5)
	h.clFreq[sym]++
}

// clExtra is the extra bits after code-length symbols 16, 17 and 18.
func clExtra(sym int) uint {
	switch sym {
	case 16:
		return 2
	case 17:
		return 3
	case 18:
		return 7
	}
	return 0
}

// headerBits is the size of the dynamic header after the block type.
func (h *huffman) headerBits() int {
	n := 5 + 5 + 4 + 3*h.ncl
	for _, r := range h.rle {
		sym := int(r & 31)
		n += int(h.clLen[sym]) + int(clExtra(sym))
	}
	return n
}

// dataBits is the size of the codes (not the extras) of the block's
// symbols.
func (h *huffman) dataBits(litFreq, distFreq []int32) int {
	n := 0
	for s, f := range litFreq {
		n += int(f) * int(h.litLen[s])
	}
	for s, f := range distFreq {
		n += int(f) * int(h.dstLen[s])
	}
	return n
}

func (h *huffman) writeHeader(w *bitWriter) {
	w.bits(uint64(h.nlit-257), 5)
	w.bits(uint64(h.ndist-1), 5)
	w.bits(uint64(h.ncl-4), 4)
	for _, s := range clOrder[:h.ncl] {
		w.bits(uint64(h.clLen[s]), 3)
	}
	for _, r := range h.rle {
		sym := int(r & 31)
		w.bits(uint64(h.clCode[sym]), uint(h.clLen[sym]))
		if n := clExtra(sym); n > 0 {
			w.bits(uint64(r>>5), n)
		}
	}
}

// fixedLitLen is the length of a literal/length symbol in the fixed code.
func fixedLitLen(s int) uint8 {
	switch {
	case s < 144:
		return 8
	case s < 256:
		return 9
	case s < 280:
		return 7
	}
	return 8
}

// fixedBits is the size of the codes of the block's symbols in the
// fixed code (every distance code is 5 bits).
func fixedBits(litFreq, distFreq []int32) int {
	n := 0
	for s, f := range litFreq {
		n += int(f) * int(fixedLitLen(s))
	}
	for _, f := range distFreq {
		n += int(f) * 5
	}
	return n
}

// useFixed replaces the codes with the fixed ones (RFC 1951 §3.2.6): the
// canonical codes of the fixed lengths of all 288 literal/length and 32
// distance symbols (the two unused of each count: the 9-bit codes come
// after every 8-bit one, 286 and 287 included).
func (h *huffman) useFixed() {
	var lens [288]uint8
	var codes [288]uint16
	for s := range lens {
		lens[s] = fixedLitLen(s)
	}
	canonical(lens[:], codes[:])
	copy(h.litLen[:], lens[:])
	copy(h.litCode[:], codes[:])
	for s := range lens[:32] {
		lens[s] = 5
	}
	canonical(lens[:32], codes[:32])
	copy(h.dstLen[:], lens[:])
	copy(h.dstCode[:], codes[:])
}
