package pcep

// One-block allocation of the common PCRpt and PCUpd: a message with a
// single entry whose ERO has at most maxBlockSubs subobjects is allocated as
// one object holding the message, its entry and the subobject array, sized
// exactly. Decoding such a message then costs that block and the strings
// of its TLVs (the symbolic name), instead of one object per slice: the
// garbage collector, not the parsing, dominates the cost of a decode.

// maxBlockSubs is the largest ERO that newRpt and newUpd place in the
// message's block; longer routes get a slice of their own.
const maxBlockSubs = 8

type rptBlock[S any] struct {
	m  PCRpt
	r  [1]Report
	so S
}

type updBlock[S any] struct {
	m  PCUpd
	u  [1]Update
	so S
}

// newRptOf allocates a PCRpt block whose subobject array is S; subs returns
// that array as a slice.
func newRptOf[S any](subs func(*S) []Subobject) (*PCRpt, []Subobject) {
	b := new(rptBlock[S])
	b.m.Reports = b.r[:0:1]
	return &b.m, subs(&b.so)
}

func newUpdOf[S any](subs func(*S) []Subobject) (*PCUpd, []Subobject) {
	b := new(updBlock[S])
	b.m.Updates = b.u[:0:1]
	return &b.m, subs(&b.so)
}

func subs0(*struct{}) []Subobject       { return nil }
func subs1(a *[1]Subobject) []Subobject { return a[:] }
func subs2(a *[2]Subobject) []Subobject { return a[:] }
func subs3(a *[3]Subobject) []Subobject { return a[:] }
func subs4(a *[4]Subobject) []Subobject { return a[:] }
func subs5(a *[5]Subobject) []Subobject { return a[:] }
func subs6(a *[6]Subobject) []Subobject { return a[:] }
func subs7(a *[7]Subobject) []Subobject { return a[:] }
func subs8(a *[8]Subobject) []Subobject { return a[:] }

// newRpt returns an empty PCRpt with room for one report and, when k is at
// most maxBlockSubs, k subobjects for its ERO, all in one allocation.
func newRpt(k int) (*PCRpt, []Subobject) {
	switch k {
	case 1:
		return newRptOf(subs1)
	case 2:
		return newRptOf(subs2)
	case 3:
		return newRptOf(subs3)
	case 4:
		return newRptOf(subs4)
	case 5:
		return newRptOf(subs5)
	case 6:
		return newRptOf(subs6)
	case 7:
		return newRptOf(subs7)
	case 8:
		return newRptOf(subs8)
	}
	return newRptOf(subs0)
}

// newUpd is newRpt for a PCUpd.
func newUpd(k int) (*PCUpd, []Subobject) {
	switch k {
	case 1:
		return newUpdOf(subs1)
	case 2:
		return newUpdOf(subs2)
	case 3:
		return newUpdOf(subs3)
	case 4:
		return newUpdOf(subs4)
	case 5:
		return newUpdOf(subs5)
	case 6:
		return newUpdOf(subs6)
	case 7:
		return newUpdOf(subs7)
	case 8:
		return newUpdOf(subs8)
	}
	return newUpdOf(subs0)
}

// shape returns, from the framing alone, how many LSP objects at least
// minLSPLen bytes long the rest of the message holds and how many subobjects
// the body of its first ERO object holds. Both only size allocations: the
// decoder validates everything again and falls back to separate slices when
// the guess is wrong.
func (d *decoder) shape() (lsps, subs int) {
	const minLSPLen = 8 // header and the PLSP-ID/flags word
	b := d.b
	seenERO := false
	for len(b) >= 4 {
		l := int(be.Uint16(b[2:]))
		if l < 4 || l > len(b) {
			break
		}
		switch b[0] {
		case ClassLSP:
			if l >= minLSPLen {
				lsps++
			}
		case ClassERO:
			if !seenERO && b[1]>>4 == 1 {
				seenERO = true
				subs = countSubobjects(b[4:l])
			}
		}
		b = b[l:]
	}
	return lsps, subs
}

// countSubobjects counts the subobjects of a route body up to the first
// one whose length is not valid.
func countSubobjects(b []byte) int {
	n := 0
	for len(b) >= 2 {
		l := int(b[1])
		if l < 4 || l > len(b) {
			break
		}
		n++
		b = b[l:]
	}
	return n
}

// grow extends *s by one element. The decoder only appends to slices it
// allocated itself, so the element past the length, when there is room, is
// still zero: taking it spares copying a zero value into it, and reslicing
// in place updates the length without a write barrier.
func grow[T any](s *[]T) {
	if len(*s) < cap(*s) {
		*s = (*s)[:len(*s)+1]
		return
	}
	var zero T
	*s = add(*s, zero)
}
