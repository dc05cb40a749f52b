package audio

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// amr builds an AMR-NB file of n 12.2 kbit/s frames (20 ms each).
func amr(n int) []byte {
	b := []byte("#!AMR\n")
	for range n {
		b = append(b, 0x3c) // frame type 7, quality bit
		b = append(b, make([]byte, 31)...)
	}
	return b
}

// mp3 builds an MPEG-1 Layer III file of n 128 kbit/s 44.1 kHz frames,
// behind an ID3v2 tag.
func mp3(n int) []byte {
	b := []byte{'I', 'D', '3', 3, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4}
	frame := make([]byte, 417) // 144*128000/44100
	copy(frame, []byte{0xff, 0xfb, 0x90, 0x00})
	for range n {
		b = append(b, frame...)
	}
	return b
}

func TestInspect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		data   []byte
		format string
		dur    time.Duration
		err    error
	}{
		{"amr 10 s", amr(500), AMR, 10 * time.Second, nil},
		{"amr 61 s", amr(3050), AMR, 61 * time.Second, ErrTooLong},
		{"mp3 about 30 s", mp3(1149), MP3, 1149 * 1152 * time.Second / 44100, nil},
		{"mp3 over a minute", mp3(2600), MP3, 2600 * 1152 * time.Second / 44100, ErrTooLong},
		{"wav", append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 64)...), "", 0, ErrFormat},
		{"text", []byte("这不是录音"), "", 0, ErrFormat},
		{"amr header only", []byte("#!AMR\n"), "", 0, ErrEmpty},
		{"amr broken", append(amr(3), 0x3c, 1, 2), "", 0, ErrFormat},
		{"too large", bytes.Repeat([]byte{0}, MaxBytes+1), "", 0, ErrTooLarge},
	} {
		got, err := Inspect(tc.data)
		if !errors.Is(err, tc.err) {
			t.Errorf("Inspect(%s) error = %v, want %v", tc.name, err, tc.err)
			continue
		}
		if tc.err == nil && (got.Format != tc.format || got.Duration != tc.dur) {
			t.Errorf("Inspect(%s) = %+v, want %s %v", tc.name, got, tc.format, tc.dur)
		}
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(amr(3))
	f.Add(mp3(3))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Inspect(data)
		if err == nil && (info.Duration <= 0 || info.Duration > MaxDuration) {
			t.Errorf("Inspect accepted %v", info)
		}
	})
}
