// Package audio checks the voice recordings editors attach to items: the
// format (MP3 or AMR, what WeChat's voice messages take) and the duration,
// read from the file's own frames, not trusted from its name. It is pure.
package audio

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Formats.
const (
	MP3 = "mp3"
	AMR = "amr"
)

// Limits WeChat sets on a voice message.
const (
	MaxDuration = 60 * time.Second
	MaxBytes    = 2 << 20
)

// Info is what a recording is.
type Info struct {
	Format   string
	Duration time.Duration
}

// Errors Inspect returns, for callers to word for the editor.
var (
	ErrFormat   = errors.New("not an MP3 or AMR recording")
	ErrTooLong  = errors.New("recording longer than 60 seconds")
	ErrTooLarge = errors.New("recording larger than 2 MB")
	ErrEmpty    = errors.New("recording without sound frames")
)

// Inspect reads data's format and duration, and checks WeChat's limits.
func Inspect(data []byte) (Info, error) {
	if len(data) > MaxBytes {
		return Info{}, ErrTooLarge
	}
	var info Info
	var err error
	switch {
	case bytes.HasPrefix(data, []byte("#!AMR\n")):
		info.Format = AMR
		info.Duration, err = amrDuration(data[6:])
	default:
		info.Format = MP3
		info.Duration, err = mp3Duration(data)
	}
	if err != nil {
		return Info{}, err
	}
	if info.Duration > MaxDuration {
		return info, ErrTooLong
	}
	return info, nil
}

// amrFrameBytes is the size of an AMR-NB frame's speech data by frame type
// (RFC 4867, section 5.3); types 9–14 are reserved.
var amrFrameBytes = [16]int{12, 13, 15, 17, 19, 20, 26, 31, 5, -1, -1, -1, -1, -1, -1, 0}

// amrDuration counts AMR-NB frames (20 ms each) of the storage format.
func amrDuration(b []byte) (time.Duration, error) {
	frames := 0
	for len(b) > 0 {
		n := amrFrameBytes[(b[0]>>3)&0x0f]
		if n < 0 || b[0]&0x83 != 0 || 1+n > len(b) {
			return 0, fmt.Errorf("%w: bad AMR frame %d", ErrFormat, frames)
		}
		b = b[1+n:]
		frames++
	}
	if frames == 0 {
		return 0, ErrEmpty
	}
	return time.Duration(frames) * 20 * time.Millisecond, nil
}

// MPEG audio tables: bitrates (kbit/s) of Layer III by version, sample
// rates by version.
var (
	mp3Bitrates = map[bool][16]int{ // MPEG-1?
		true:  {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, -1},
		false: {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, -1},
	}
	mp3Rates = map[int][4]int{3: {44100, 48000, 32000, 0}, 2: {22050, 24000, 16000, 0}, 0: {11025, 12000, 8000, 0}}
)

// mp3Duration walks the MPEG Layer III frames after an optional ID3v2 tag
// and sums their samples.
func mp3Duration(b []byte) (time.Duration, error) {
	if len(b) >= 10 && bytes.HasPrefix(b, []byte("ID3")) {
		size := int(b[6]&0x7f)<<21 | int(b[7]&0x7f)<<14 | int(b[8]&0x7f)<<7 | int(b[9]&0x7f)
		if 10+size > len(b) {
			return 0, fmt.Errorf("%w: truncated ID3 tag", ErrFormat)
		}
		b = b[10+size:]
	}
	samplesAt := map[int]int64{} // samples by sample rate
	frames := 0
	for len(b) >= 4 {
		if bytes.HasPrefix(b, []byte("TAG")) && len(b) == 128 {
			break // an ID3v1 tag ends the file
		}
		h := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		version := int(h>>19) & 3 // 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
		layer := (h >> 17) & 3    // 1 = Layer III
		br := mp3Bitrates[version == 3][(h>>12)&0xf]
		rates, okVersion := mp3Rates[version]
		if h>>21 != 0x7ff || !okVersion || layer != 1 || br <= 0 {
			return 0, fmt.Errorf("%w: no MPEG Layer III frame at frame %d", ErrFormat, frames)
		}
		rate := rates[(h>>10)&3]
		if rate == 0 {
			return 0, fmt.Errorf("%w: bad sample rate at frame %d", ErrFormat, frames)
		}
		pad := int(h>>9) & 1
		samples, coef := 1152, 144
		if version != 3 {
			samples, coef = 576, 72
		}
		size := coef*br*1000/rate + pad
		if size < 4 || size > len(b) {
			if frames > 0 && len(b) < size {
				break // a cut last frame
			}
			return 0, fmt.Errorf("%w: bad frame size at frame %d", ErrFormat, frames)
		}
		samplesAt[rate] += int64(samples)
		b = b[size:]
		frames++
	}
	if frames == 0 {
		return 0, fmt.Errorf("%w: no MPEG frames", ErrFormat)
	}
	var total time.Duration
	for rate, n := range samplesAt {
		total += time.Duration(n) * time.Second / time.Duration(rate)
	}
	return total, nil
}

// SilentAMR returns an AMR recording of d of silence (20 ms frames of
// 12.2 kbit/s), rounded down to whole frames: a valid file for the demo
// (which has no voice actor) and for tests of uploads.
func SilentAMR(d time.Duration) []byte {
	frames := int(d / (20 * time.Millisecond))
	rec := make([]byte, 0, 6+32*frames)
	rec = append(rec, "#!AMR\n"...)
	for range frames {
		rec = append(rec, 0x3c) // frame type 7 (12.2 kbit/s), quality bit
		rec = append(rec, make([]byte, 31)...)
	}
	return rec
}
