/*-------------------------------------------------------------------------
 *
 * pprof_sniff.c
 *	  Naming the inputs that are not pprof protobuf profiles.
 *
 * What people send by mistake is rarely random: the text forms of
 * /debug/pprof (?debug=1, ?debug=2), an execution trace, a legacy binary
 * CPU profile, go tool preprofile's output, the error page or JSON a server
 * answered with, or another protobuf message. The decoder reports where the
 * wire format breaks, which says nothing useful about these; when decoding
 * fails, PprofNameFormat() looks at the first bytes and, for a format it
 * knows, replaces the error with one that names it and says how to get the
 * profile instead. It never accepts anything: it runs only on inputs the
 * decoder has already refused.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "pprof.h"

/* How many bytes of a text input the error quotes. */
#define EXCERPT_BYTES	60

/* A format recognised by the start of its text. */
typedef struct TextFormat
{
	const char *prefix;
	const char *detail;
	const char *hint;
} TextFormat;

static const TextFormat text_formats[] = {
	{"goroutine profile: total ",
		"The input is a text goroutine dump (/debug/pprof/goroutine?debug=1), not a protobuf profile.",
	"Fetch it with debug=0 (the default), which writes the protobuf profile: /debug/pprof/goroutine."},
	{"heap profile: ",
		"The input is a text heap profile (/debug/pprof/heap or /debug/pprof/allocs with debug=1), not a protobuf profile.",
	"Fetch it with debug=0 (the default), which writes the protobuf profile: /debug/pprof/heap."},
	{"--- mutex:",
		"The input is a text mutex contention profile (/debug/pprof/mutex?debug=1), not a protobuf profile.",
	"Fetch it with debug=0 (the default), which writes the protobuf profile: /debug/pprof/mutex."},
	{"--- contention:",
		"The input is a text contention profile (/debug/pprof/block?debug=1, or a legacy contention profile), not a protobuf profile.",
	"Fetch it with debug=0 (the default), which writes the protobuf profile: /debug/pprof/block; convert a legacy one with go tool pprof -proto FILE > FILE.pb.gz."},
	{"threadcreate profile: total ",
		"The input is a text thread creation profile (/debug/pprof/threadcreate?debug=1), not a protobuf profile.",
	"Fetch it with debug=0 (the default), which writes the protobuf profile: /debug/pprof/threadcreate."},
	{"GO PREPROFILE V1",
		"The input is the output of go tool preprofile, not a pprof profile.",
	"Store the pprof profile it was made from: go build -pgo reads that too."},
};

static bool StartsWith(const char *data, Size len, const char *prefix);
static bool IsGoroutineDebug2(const char *data, Size len);
static bool IsExecutionTrace(const char *data, Size len);
static bool IsLegacyCpuProfile(const char *data, Size len);
static const char *MarkupKind(const char *data, Size len);
static bool IsText(const char *data, Size len);
static char *Excerpt(const char *data, Size len);
static bool IsOtherProtobuf(const char *data, Size len);
static bool ReadVarint(const uint8 **p, const uint8 *end, uint64 *v);
static bool WalkMessage(const uint8 *p, const uint8 *end, uint32 max_field,
						uint32 *bad_field);
static void SetError(PprofError *err, const char *detail, const char *hint);

/*
 * If data (len bytes, gunzipped already), which the decoder refused, is in
 * a format people send by mistake, replace *err with one that names it.
 */
void
PprofNameFormat(const char *data, Size len, PprofError *err)
{
	const char *kind;
	int			i;

	for (i = 0; i < lengthof(text_formats); i++)
	{
		if (StartsWith(data, len, text_formats[i].prefix))
		{
			SetError(err, text_formats[i].detail, text_formats[i].hint);
			return;
		}
	}
	if (IsGoroutineDebug2(data, len))
		SetError(err, "The input is a text goroutine dump with full stacks (/debug/pprof/goroutine?debug=2), not a protobuf profile.",
				 "Fetch it with debug=0 (the default), which writes the protobuf profile: /debug/pprof/goroutine.");
	else if (IsExecutionTrace(data, len))
		SetError(err, "The input is a Go execution trace (/debug/pprof/trace or runtime/trace), not a profile.",
				 "Fetch a CPU profile instead: /debug/pprof/profile?seconds=30.");
	else if (IsLegacyCpuProfile(data, len))
		SetError(err, "The input is a legacy binary CPU profile (gperftools, or Go before 1.9), not a protobuf profile.",
				 "Convert it with go tool pprof -proto FILE > FILE.pb.gz (give it the profiled binary too if the profile is not symbolized).");
	else if ((kind = MarkupKind(data, len)) != NULL)
		SetError(err, psprintf("The input is %s, not a profile. It starts with: %s",
							   kind, Excerpt(data, len)),
				 "A server answered with a page or an error instead of a profile: check the URL (a CPU profile is /debug/pprof/profile?seconds=30), and let curl fail on errors (curl -f) instead of saving them.");
	else if (IsText(data, len))
		SetError(err, psprintf("The input is text, not a profile. It starts with: %s",
							   Excerpt(data, len)),
				 "A server answered with a message instead of a profile (\"404 page not found\": net/http/pprof is not registered on that server or path): check the URL, and let curl fail on errors (curl -f) instead of saving them.");
	else if (IsOtherProtobuf(data, len))
		SetError(err, "The input is a protobuf message, but not a pprof Profile (profile.proto): its field 1 holds messages that are not sample types.",
				 "Send a pprof profile, such as runtime/pprof writes; other protobuf messages (OpenTelemetry profiles, descriptors) are not pprof profiles.");
}

static void
SetError(PprofError *err, const char *detail, const char *hint)
{
	err->sqlerrcode = ERRCODE_INVALID_BINARY_REPRESENTATION;
	err->message = "invalid pprof profile";
	err->detail = detail;
	err->hint = hint;
}

static bool
StartsWith(const char *data, Size len, const char *prefix)
{
	Size		n = strlen(prefix);

	return len >= n && memcmp(data, prefix, n) == 0;
}

/* "goroutine 1 [running]:" */
static bool
IsGoroutineDebug2(const char *data, Size len)
{
	Size		i = strlen("goroutine ");

	if (!StartsWith(data, len, "goroutine "))
		return false;
	while (i < len && data[i] >= '0' && data[i] <= '9')
		i++;
	return i > strlen("goroutine ") && i + 1 < len && data[i] == ' ' && data[i + 1] == '[';
}

/* runtime/trace writes "go 1.N trace\0\0\0" first */
static bool
IsExecutionTrace(const char *data, Size len)
{
	const char *end = memchr(data, '\0', Min(len, 16));

	return StartsWith(data, len, "go 1.") && end != NULL && end - data >= 9 &&
		memcmp(end - 6, " trace", 6) == 0;
}

/*
 * The legacy CPU profile starts with five words: 0, 3 (header words), 0
 * (version), the sampling period in microseconds, 0 (padding); as 64- or
 * 32-bit words, in the byte order of the machine that wrote it.
 */
static bool
IsLegacyCpuProfile(const char *data, Size len)
{
	int			size;

	for (size = 4; size <= 8; size += 4)
	{
		uint64		w[5];
		int			little;

		if (len < 5 * (Size) size)
			continue;
		for (little = 0; little <= 1; little++)
		{
			int			i,
						b;

			for (i = 0; i < 5; i++)
			{
				w[i] = 0;
				for (b = 0; b < size; b++)
				{
					int			shift = little ? 8 * b : 8 * (size - 1 - b);

					w[i] |= (uint64) (uint8) data[i * size + b] << shift;
				}
			}
			if (w[0] == 0 && w[1] == 3 && w[2] == 0 && w[3] != 0 && w[4] == 0)
				return true;
		}
	}
	return false;
}

/* "an HTML page" or "JSON" when the input starts like one, else NULL. */
static const char *
MarkupKind(const char *data, Size len)
{
	Size		i = 0;

	if (StartsWith(data, len, "\xEF\xBB\xBF"))
		i = 3;
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	if (i < len && data[i] == '<')
	{
		const char *tags[] = {"<!doctype html", "<html", "<head", "<body", "<title", "<?xml", "<pre"};
		int			t;

		for (t = 0; t < lengthof(tags); t++)
			if (len - i >= strlen(tags[t]) &&
				pg_strncasecmp(data + i, tags[t], strlen(tags[t])) == 0)
				return "an HTML page";
	}
	if (i < len && (data[i] == '{' || data[i] == '[') && IsText(data, len))
		return "JSON";
	return NULL;
}

/*
 * The first bytes read as a message: UTF-8 without control characters but
 * whitespace, and a few of them at least.
 */
static bool
IsText(const char *data, Size len)
{
	int			n = (int) Min(len, 256);
	int			i;

	if (n < 4)
		return false;
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) data[i];

		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f)
			return false;
	}
	/* a character cut at the end of the n bytes is fine */
	return pg_encoding_verifymbstr(PG_UTF8, data, n) >= n - 3;
}

/* The start of a text input, one line, printable ASCII, for a message. */
static char *
Excerpt(const char *data, Size len)
{
	char	   *out = palloc(EXCERPT_BYTES + 4);
	Size		i = 0,
				o = 0;

	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	for (; i < len && o < EXCERPT_BYTES; i++)
	{
		unsigned char c = (unsigned char) data[i];

		if (c == '\n' || c == '\r')
			break;
		out[o++] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	if (i < len && o == EXCERPT_BYTES)
	{
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/*
 * A well-formed protobuf message whose field 1 is not a sample type: the
 * decoder would call it a damaged profile (or, with many field 1 entries,
 * one with too many sample types), but it is another message altogether.
 * A ValueType has fields 1 to 3, all varints.
 */
static bool
IsOtherProtobuf(const char *data, Size len)
{
	const uint8 *p = (const uint8 *) data;
	const uint8 *end = p + len;
	uint32		bad_field = 0;
	bool		other = false;

	if (!WalkMessage(p, end, PG_UINT32_MAX, NULL))
		return false;
	while (p < end)
	{
		uint64		key,
					n;

		if (!ReadVarint(&p, end, &key))
			return false;
		switch (key & 7)
		{
			case 0:
				if (!ReadVarint(&p, end, &n))
					return false;
				if ((key >> 3) == 1)
					return true;	/* sample_type is a message */
				break;
			case 1:
				p += 8;
				break;
			case 5:
				p += 4;
				break;
			case 2:
				if (!ReadVarint(&p, end, &n) || n > (uint64) (end - p))
					return false;
				if ((key >> 3) == 1 && !WalkMessage(p, p + n, 3, &bad_field))
					other = true;
				p += n;
				break;
			default:
				return false;
		}
	}
	return other;
}

static bool
ReadVarint(const uint8 **p, const uint8 *end, uint64 *v)
{
	int			shift;

	*v = 0;
	for (shift = 0; shift < 64 && *p < end; shift += 7)
	{
		uint8		b = *(*p)++;

		*v |= (uint64) (b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return true;
	}
	return false;
}

/*
 * Whether [p, end) is a well-formed protobuf message whose fields are
 * numbered 1 to max_field; with bad_field, also whether every field is a
 * varint (what a ValueType holds).
 */
static bool
WalkMessage(const uint8 *p, const uint8 *end, uint32 max_field, uint32 *bad_field)
{
	while (p < end)
	{
		uint64		key,
					n;

		if (!ReadVarint(&p, end, &key) || (key >> 3) == 0 || (key >> 3) > max_field)
			return false;
		if (bad_field && (key & 7) != 0)
		{
			*bad_field = (uint32) (key >> 3);
			return false;
		}
		switch (key & 7)
		{
			case 0:
				if (!ReadVarint(&p, end, &n))
					return false;
				break;
			case 1:
				if (end - p < 8)
					return false;
				p += 8;
				break;
			case 5:
				if (end - p < 4)
					return false;
				p += 4;
				break;
			case 2:
				if (!ReadVarint(&p, end, &n) || n > (uint64) (end - p))
					return false;
				p += n;
				break;
			default:
				return false;
		}
	}
	return true;
}
