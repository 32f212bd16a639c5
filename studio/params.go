package studio

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
)

// Numeric query parameters. Every one is read by queryFloat or queryInt,
// which refuse what does not parse, NaN, ±Inf and values out of range:
// a request never reaches a generator, or the image cache, with a number
// the API does not accept.

// paramError is a numeric query parameter that is missing or refused.
type paramError struct {
	name, want string
}

func (e *paramError) Error() string { return e.name + " must be " + e.want }

// floatParam describes a float query parameter: its default when absent
// (unless required), its range [lo, hi] (lo excluded when loOpen) and
// what it must be, as the error says.
type floatParam struct {
	def      float64
	required bool
	lo, hi   float64
	loOpen   bool
	want     string
}

// queryFloat reads q's parameter name (its first value) as a finite number
// within p's range.
func queryFloat(q url.Values, name string, p floatParam) (float64, error) {
	s := q.Get(name)
	if s == "" {
		if p.required {
			return 0, &paramError{name, p.want}
		}
		return p.def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < p.lo || v > p.hi || p.loOpen && v == p.lo {
		return 0, &paramError{name, p.want}
	}
	return v, nil
}

// intParam describes an integer query parameter (see floatParam).
type intParam struct {
	def      int64
	required bool
	lo, hi   int64
	want     string
}

// queryInt reads q's parameter name (its first value) as a decimal integer
// within p's range.
func queryInt(q url.Values, name string, p intParam) (int64, error) {
	s := q.Get(name)
	if s == "" {
		if p.required {
			return 0, &paramError{name, p.want}
		}
		return p.def, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < p.lo || v > p.hi {
		return 0, &paramError{name, p.want}
	}
	return v, nil
}

// The studio's numeric parameters.
var (
	truncationParam = floatParam{def: 1, lo: 0, hi: 2, want: "a number in [0, 2] (1 = off; 0, a stylegan's average image, for stylegans only)"}
	amountParam     = floatParam{required: true, lo: -10, hi: 10, want: "a number between -10 and 10"}
	framesParam     = intParam{def: 16, lo: 2, hi: MaxMorphFrames, want: "an integer between 2 and " + strconv.Itoa(MaxMorphFrames)}
	seedParam       = intParam{required: true, lo: -maxSafeSeed, hi: maxSafeSeed, want: "an integer seed (|seed| < 2^53)"}
)

// badParam answers a refused parameter: 400 with the sentence.
func badParam(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, err.Error())
}
