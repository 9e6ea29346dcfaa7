package web

import (
	"context"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"roombridge/models"
)

// codeCall finds the codes the project's code passes to models.E, E and badRequest.
var codeCall = regexp.MustCompile(`(?:\bE\((?:models\.)?Err\w+|\berrMalformed|badRequest\([^,]+), "([a-z_]+)"`)

// sourceCodes returns every error code written in the non-test Go files of the module,
// plus the reason-only codes and the codes built at run time.
func sourceCodes(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{
		models.ReasonRescheduleRefused: true, models.ReasonRestoreRefused: true, models.ReasonBackendRefused: true, models.ReasonUnreachable: true,
		models.CodeRoomTaken: true, "oa_frozen": true, "dingtalk_frozen": true,
	}
	root := filepath.Join("..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range codeCall.FindAllStringSubmatch(string(b), -1) {
			code := m[1]
			if strings.Contains(m[0], "badRequest(") {
				code = "bad_request." + code
			}
			seen[code] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]string, 0, len(seen))
	for c := range seen {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	if len(codes) < 40 {
		t.Fatalf("found only %d codes in the source: the pattern no longer matches how codes are written", len(codes))
	}
	return codes
}

func TestEveryCodeHasText(t *testing.T) {
	for _, code := range sourceCodes(t) {
		m, ok := messages["err."+code]
		if !ok || m.ZH == "" || m.EN == "" {
			t.Errorf("code %q has no text in both languages (want messages[%q])", code, "err."+code)
		}
	}
}

// sampleArgs fills every argument a text may use; values are data (numbers, times,
// known backends), so any letter or Han character left in a rendering is UI text.
func sampleArgs(cause string) models.Args {
	return models.Args{
		models.ArgBackend: string(models.BackendDingTalk), models.ArgOrigin: string(models.OriginNative),
		models.ArgStart: models.TimeArg(at(20, 10, 0)), models.ArgEnd: models.TimeArg(at(20, 11, 0)),
		models.ArgAt: models.TimeArg(freeze), models.ArgDay: models.TimeArg(cutover),
		models.ArgRoom: "101", models.ArgName: "007", models.ArgLimit: "200", "want": "42", models.ArgCause: cause,
	}
}

// techTerms are the technical words a Chinese text may keep: names of systems, formats
// and request parts that read the same in both languages.
var techTerms = regexp.MustCompile(`OA|JSON|RFC 3339|Content-Type: application/json|Idempotency-Key|UTF-8|wait|10s|zh|en|to|from|2023-04-17T09:00:00\+08:00|2023-04-17T09:00|2023-04-17|09:30`)

var hasHan = regexp.MustCompile(`\p{Han}`)

// checkLanguages fails when zh is not Chinese only or en not English only.
func checkLanguages(t *testing.T, what, zh, en string) {
	t.Helper()
	if !hasHan.MatchString(zh) {
		t.Errorf("%s in Chinese = %q: no Chinese in it", what, zh)
	}
	if rest := techTerms.ReplaceAllString(zh, ""); strings.IndexFunc(rest, func(r rune) bool { return r < unicode.MaxASCII && unicode.IsLetter(r) }) >= 0 {
		t.Errorf("%s in Chinese = %q: it has English in it", what, zh)
	}
	if hasHan.MatchString(en) {
		t.Errorf("%s in English = %q: it has Chinese in it", what, en)
	}
}

// TestEveryCodeInOneLanguage renders each code the code base produces (every reason the
// backends store included, and each one as the cause of a refused reschedule) in both
// languages.
func TestEveryCodeInOneLanguage(t *testing.T) {
	s := &server{zone: shanghai}
	for _, code := range sourceCodes(t) {
		args := sampleArgs(models.CodeRoomTaken)
		if c, d, ok := strings.Cut(code, "."); ok {
			code, args[argDetail] = c, d
		}
		zh, ok1 := s.say(langZH, code, args)
		en, ok2 := s.say(langEN, code, args)
		if !ok1 || !ok2 {
			t.Errorf("say(%q) has no text", code)
			continue
		}
		checkLanguages(t, code, zh, en)
		if strings.Contains(zh, "{") || strings.Contains(en, "{") {
			t.Errorf("%s left a placeholder: %q / %q", code, zh, en)
		}
		zh, _ = s.say(langZH, models.ReasonRescheduleRefused, sampleArgs(code))
		en, _ = s.say(langEN, models.ReasonRescheduleRefused, sampleArgs(code))
		checkLanguages(t, "reschedule refused for "+code, zh, en)
	}
}

// TestRejectedBookingPage shows a rejected booking whose reason is each code the
// backends store, in Chinese and in English, and one old row's free text as it is.
func TestRejectedBookingPage(t *testing.T) {
	e := newEnv(t)
	s := &server{zone: shanghai}
	reasons := []models.Reason{
		{Code: models.CodeRoomTaken, Args: models.Args{models.ArgBackend: "oa"}},
		models.RoomTaken(models.Reservation{Backend: models.BackendDingTalk, Origin: models.OriginNative, Start: at(20, 9, 0), End: at(20, 10, 0)}).Reason(),
		{Code: models.ReasonBackendRefused, Args: models.Args{models.ArgBackend: "dingtalk"}},
		{Code: models.ReasonUnreachable, Args: models.Args{models.ArgBackend: "oa"}},
		{Code: "oa_forbidden"}, {Code: "oa_rejected"}, {Code: "oa_unavailable"}, {Code: "no_oa_login"}, {Code: "dingtalk_quota"},
		{Code: "no_dingtalk_account", Args: models.Args{models.ArgName: "zhangsan"}},
		{Code: "room_not_in_backend", Args: models.Args{models.ArgRoom: "duowei", models.ArgBackend: "oa"}},
		models.E(models.ErrFrozen, "oa_frozen", "", models.ArgAt, models.TimeArg(freeze), models.ArgDay, models.TimeArg(cutover)).Reason(),
		{Code: models.ReasonRescheduleRefused, Args: models.Args{models.ArgCause: "dingtalk_quota"}},
		{Code: models.ReasonRestoreRefused, Args: models.Args{models.ArgCause: models.CodeRoomTaken, models.ArgBackend: "oa"}},
	}
	for _, why := range reasons {
		t.Run(why.Code, func(t *testing.T) {
			r := e.book("duowei", "zhangsan", at(20, 14, 0), at(20, 15, 0), models.BackendDingTalk, models.OriginBridge, "周会")
			_, err := e.store.Update(context.Background(), r.ID, models.Change{Apply: func(x *models.Reservation) ([]models.Job, *models.AuditEntry, error) {
				x.Status = models.StatusRejected
				x.SetReason(why)
				return nil, nil, nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := e.store.Reservation(context.Background(), r.ID)
			zh, _ := s.say(langZH, why.Code, why.Args)
			en, _ := s.say(langEN, why.Code, why.Args)
			b := e.browser().login("zhangsan")
			page := b.get("/bookings/" + r.ID)
			if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), htmlText(zh)) || strings.Contains(page.Body.String(), htmlText(en)) {
				t.Errorf("Chinese page of a booking rejected for %v (stored %v) lacks %q or shows %q", why, got.Reason(), zh, en)
			}
			b.get("/lang?to=en")
			page = b.get("/bookings/" + r.ID)
			if !strings.Contains(page.Body.String(), htmlText(en)) || strings.Contains(page.Body.String(), htmlText(zh)) {
				t.Errorf("English page of a booking rejected for %v lacks %q or shows %q", why, en, zh)
			}
		})
	}
	t.Run("legacy free text", func(t *testing.T) {
		r := e.book("duowei", "zhangsan", at(21, 14, 0), at(21, 15, 0), models.BackendOA, models.OriginBridge, "周会")
		if _, err := e.store.SQL().Exec("UPDATE reservations SET status = 'rejected', reason = 'OA 拒绝 / refused' WHERE id = ?", r.ID); err != nil {
			t.Fatal(err)
		}
		if body := e.browser().login("zhangsan").get("/bookings/" + r.ID).Body.String(); !strings.Contains(body, "OA 拒绝 / refused") {
			t.Errorf("a row written before reasons had codes does not show its text as it is")
		}
	})
}

// htmlText is s as html/template writes it in an element.
func htmlText(s string) string {
	return strings.NewReplacer("“", "“", "”", "”", "'", "&#39;", `"`, "&#34;", "+", "&#43;").Replace(s)
}
