

profile.protoperftools.profiles"õ
Profile>
sample_type (2.perftools.profiles.ValueTypeR
sampleType2
sample (2.perftools.profiles.SampleRsample5
mapping (2.perftools.profiles.MappingRmapping8
location (2.perftools.profiles.LocationRlocation8
function (2.perftools.profiles.FunctionRfunction!
string_table (RstringTable
drop_frames (R
dropFrames
keep_frames (R
keepFrames

time_nanos	 (R	timeNanos%
duration_nanos
 (RdurationNanos>
period_type (2.perftools.profiles.ValueTypeR
periodType
period (Rperiod
comment (Rcomment.
default_sample_type (RdefaultSampleType"3
	ValueType
type (Rtype
unit (Runit"p
Sample
location_id (R
locationId
value (Rvalue/
label (2.perftools.profiles.LabelRlabel"X
Label
key (Rkey
str (Rstr
num (Rnum
num_unit (RnumUnit"×
Mapping
id (Rid!
memory_start (RmemoryStart!
memory_limit (RmemoryLimit
file_offset (R
fileOffset
filename (Rfilename
build_id (RbuildId#
has_functions (RhasFunctions#
has_filenames (RhasFilenames(
has_line_numbers	 (RhasLineNumbers*
has_inline_frames
 (RhasInlineFrames"ž
Location
id (Rid

mapping_id (R	mappingId
address (Raddress,
line (2.perftools.profiles.LineRline
	is_folded (RisFolded"S
Line
function_id (R
functionId
line (Rline
column (Rcolumn"Š
Function
id (Rid
name (Rname
system_name (R
systemName
filename (Rfilename

start_line (R	startLinebproto3