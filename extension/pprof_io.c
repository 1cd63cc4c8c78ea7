/*-------------------------------------------------------------------------
 *
 * pprof_io.c
 *	  Input and output of the pprof type: text, binary, bytea casts, and
 *	  exception-free validation.
 *
 * Every way in (text, recv, cast from bytea) runs the same decoder, so there
 * is one definition of a valid profile. Every way out writes gzip pprof, the
 * format go tool pprof and go build -pgo read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "pprof.h"

static Pprof *DecodeOrThrow(const char *data, Size len);

PG_FUNCTION_INFO_V1(pprof_in);
PG_FUNCTION_INFO_V1(pprof_out);
PG_FUNCTION_INFO_V1(pprof_recv);
PG_FUNCTION_INFO_V1(pprof_send);
PG_FUNCTION_INFO_V1(pprof_from_bytea);
PG_FUNCTION_INFO_V1(pprof_to_bytea);
PG_FUNCTION_INFO_V1(pprof_is_valid);
PG_FUNCTION_INFO_V1(pprof_validate);

static Pprof *
DecodeOrThrow(const char *data, Size len)
{
	PprofError	err;
	Pprof	   *result = PprofDecode(data, len, &err);

	if (result == NULL)
		PprofThrow(&err);
	return result;
}

/* Text input: the bytea text forms (\x hex or escape) of a pprof file. */
Datum
pprof_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	bytea	   *bytes = DatumGetByteaPP(DirectFunctionCall1(byteain, CStringGetDatum(str)));

	PG_RETURN_PPROF_P(DecodeOrThrow(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes)));
}

/* Text output: a gzip pprof file, in bytea's text form. */
Datum
pprof_out(PG_FUNCTION_ARGS)
{
	Pprof	   *pprof = PG_GETARG_PPROF_P(0);

	PG_RETURN_DATUM(DirectFunctionCall1(byteaout, PointerGetDatum(PprofEncode(pprof))));
}

/* Binary input: the bytes of a pprof file, validated as text input is. */
Datum
pprof_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	Pprof	   *result;

	result = DecodeOrThrow(buf->data + buf->cursor, buf->len - buf->cursor);
	buf->cursor = buf->len;
	PG_RETURN_PPROF_P(result);
}

/* Binary output: a gzip pprof file. */
Datum
pprof_send(PG_FUNCTION_ARGS)
{
	Pprof	   *pprof = PG_GETARG_PPROF_P(0);

	PG_RETURN_BYTEA_P(PprofEncode(pprof));
}

/* bytea::pprof */
Datum
pprof_from_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_PPROF_P(DecodeOrThrow(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes)));
}

/* pprof::bytea */
Datum
pprof_to_bytea(PG_FUNCTION_ARGS)
{
	Pprof	   *pprof = PG_GETARG_PPROF_P(0);

	PG_RETURN_BYTEA_P(PprofEncode(pprof));
}

/* pprof_is_valid(bytea): would the cast succeed? */
Datum
pprof_is_valid(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	PprofError	err;
	Pprof	   *result = PprofDecode(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes), &err);

	if (result == NULL)
		PG_RETURN_BOOL(false);
	pfree(result);
	PG_RETURN_BOOL(true);
}

/* pprof_validate(bytea): NULL when valid, else why not. */
Datum
pprof_validate(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	PprofError	err;
	Pprof	   *result = PprofDecode(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes), &err);

	if (result == NULL)
		PG_RETURN_TEXT_P(cstring_to_text(PprofErrorText(&err)));
	pfree(result);
	PG_RETURN_NULL();
}
