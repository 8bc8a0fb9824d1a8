using System.Globalization;
using System.Text;
using System.Text.Json;

using MedDistill.Shared;
namespace MedDistill.Evaluation;

/// <summary>
/// The metrics of a run: one row per case and class, a summary per site and class, a summary per class over all cases, and
/// free-form metadata (run id, seed, commit, device, …). Rows are kept sorted by site, case id, class label (ordinal), per-site
/// summaries by site and class, overall summaries by class and metadata by key, so equal content gives byte-identical files
/// whatever order the cases were evaluated in.
/// </summary>
public sealed class MetricsReport
{
    public const string CurrentFormat = "meddistill-metrics/1";
    public const string DefaultFileName = "metrics.json";

    public IReadOnlyList<CaseMetrics> Cases { get; }
    public IReadOnlyList<MetricsSummary> PerSite { get; }
    public IReadOnlyList<MetricsSummary> Overall { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The empty-mask policy the rows were computed with (recorded so a reader knows what a worst-case distance means).</summary>
    public EmptyMaskDistance EmptyMaskDistance { get; }

    private MetricsReport(IReadOnlyList<CaseMetrics> cases, IReadOnlyList<MetricsSummary> perSite, IReadOnlyList<MetricsSummary> overall,
        IReadOnlyDictionary<string, string> metadata, EmptyMaskDistance emptyMaskDistance)
    {
        Cases = cases; PerSite = perSite; Overall = overall; Metadata = metadata; EmptyMaskDistance = emptyMaskDistance;
    }

    /// <summary>
    /// Sorts the rows and computes the summaries. <paramref name="options"/> must be the options the rows were computed with.
    /// A (site, case, class) given twice is an error: it would count a case twice in the means.
    /// </summary>
    public static MetricsReport Create(IEnumerable<CaseMetrics> cases, IReadOnlyDictionary<string, string>? metadata = null, MetricsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cases);
        var rows = cases.OrderBy(r => r.Site, StringComparer.Ordinal).ThenBy(r => r.CaseId, StringComparer.Ordinal).ThenBy(r => r.ClassLabel).ToArray();
        for (int i = 1; i < rows.Length; i++)
            if (rows[i].Site == rows[i - 1].Site && rows[i].CaseId == rows[i - 1].CaseId && rows[i].ClassLabel == rows[i - 1].ClassLabel)
                throw new ArgumentException($"case '{rows[i].CaseId}' of site '{rows[i].Site}', class {rows[i].ClassLabel}, appears twice", nameof(cases));
        var perSite = rows.GroupBy(r => (r.Site, r.ClassLabel))
            .Select(g => MetricsSummary.Of(g.Key.Site, g.Key.ClassLabel, g.ToArray()))
            .OrderBy(s => s.Site, StringComparer.Ordinal).ThenBy(s => s.ClassLabel).ToArray();
        var overall = rows.GroupBy(r => r.ClassLabel)
            .Select(g => MetricsSummary.Of(null, g.Key, g.ToArray()))
            .OrderBy(s => s.ClassLabel).ToArray();
        return new MetricsReport(rows, perSite, overall, SortedMetadata(metadata ?? new Dictionary<string, string>()),
            (options ?? MetricsOptions.Default).EmptyMaskDistance);
    }

    private static SortedDictionary<string, string> SortedMetadata(IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var sorted = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
        {
            ArgumentNullException.ThrowIfNull(key);
            sorted[key] = value ?? throw new ArgumentException($"metadata '{key}' has a null value", nameof(metadata));
        }
        return sorted;
    }

    // ---------------------------------------------------------------- JSON

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> atomically (temporary file in the same folder, then rename).</summary>
    public void Write(string path) => AtomicFile.WriteAllText(path, ToJson());

    /// <summary>Indented UTF-8 JSON with "\n" line ends; doubles in shortest round-trip form, NaN as null.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            json.WriteStartObject();
            json.WriteString("format", CurrentFormat);
            json.WriteString("emptyMaskDistance", EmptyMaskDistance.ToString());
            json.WriteStartObject("metadata");
            foreach (var (key, value) in Metadata) json.WriteString(key, value);
            json.WriteEndObject();
            json.WriteStartArray("overall");
            foreach (var s in Overall) WriteSummary(json, s);
            json.WriteEndArray();
            json.WriteStartArray("perSite");
            foreach (var s in PerSite) WriteSummary(json, s);
            json.WriteEndArray();
            json.WriteStartArray("cases");
            foreach (var r in Cases) WriteCase(json, r);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void WriteSummary(Utf8JsonWriter json, MetricsSummary s)
    {
        json.WriteStartObject();
        if (s.Site is null) json.WriteNull("site"); else json.WriteString("site", s.Site);
        json.WriteNumber("classLabel", s.ClassLabel);
        json.WriteNumber("cases", s.Cases);
        json.WriteNumber("predictionEmptyCases", s.PredictionEmptyCases);
        json.WriteNumber("referenceEmptyCases", s.ReferenceEmptyCases);
        WriteStats(json, "dice", s.Dice);
        WriteStats(json, "hd95", s.Hd95);
        WriteStats(json, "asd", s.Asd);
        WriteStats(json, "assdMedPy", s.AssdMedPy);
        WriteStats(json, "hd", s.Hd);
        json.WriteEndObject();
    }

    private static void WriteStats(Utf8JsonWriter json, string name, MetricStats stats)
    {
        json.WriteStartObject(name);
        WriteNumberOrNull(json, "mean", stats.Mean ?? double.NaN);
        WriteNumberOrNull(json, "std", stats.StandardDeviation ?? double.NaN);
        json.WriteNumber("count", stats.Count);
        json.WriteNumber("excluded", stats.Excluded);
        json.WriteEndObject();
    }

    private static void WriteCase(Utf8JsonWriter json, CaseMetrics r)
    {
        json.WriteStartObject();
        json.WriteString("caseId", r.CaseId);
        json.WriteString("site", r.Site);
        json.WriteNumber("classLabel", r.ClassLabel);
        WriteNumberOrNull(json, "dice", r.Dice);
        WriteNumberOrNull(json, "hd95", r.Hd95);
        WriteNumberOrNull(json, "asd", r.Asd);
        WriteNumberOrNull(json, "assdMedPy", r.AssdMedPy);
        WriteNumberOrNull(json, "hd", r.Hd);
        json.WriteNumber("predictionVoxels", r.PredictionVoxels);
        json.WriteNumber("referenceVoxels", r.ReferenceVoxels);
        json.WriteNumber("intersectionVoxels", r.IntersectionVoxels);
        json.WriteBoolean("predictionEmpty", r.PredictionEmpty);
        json.WriteBoolean("referenceEmpty", r.ReferenceEmpty);
        json.WriteEndObject();
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, double value)
    {
        if (!double.IsFinite(value))
        {
            // JSON has no NaN or infinity; infinity cannot come out of SegmentationMetrics (empty masks use the policy).
            if (double.IsInfinity(value)) throw new InvalidOperationException($"{name} is infinite; JSON cannot hold it");
            json.WriteNull(name);
        }
        else
        {
            json.WritePropertyName(name);
            json.WriteRawValue(FormatDouble(value), skipInputValidation: true);
        }
    }

    /// <summary>Shortest text that parses back to the same double ("R"), invariant culture, as in the CSV.</summary>
    internal static string FormatDouble(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Reads a report written by <see cref="Write"/>; malformed input fails with the file and the JSON path of the field.</summary>
    public static MetricsReport Read(string path)
    {
        string text;
        try { text = File.ReadAllText(path, Encoding.UTF8); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"{path}: cannot read the metrics file: {e.Message}", e);
        }
        return Parse(text, path);
    }

    /// <summary>Parses report JSON; <paramref name="source"/> names it in error messages (a path, usually).</summary>
    public static MetricsReport Parse(string json, string source)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not valid JSON: {e.Message}", e); }
        using (document)
        {
            var reader = new FieldReader(source);
            var root = document.RootElement;
            reader.Expect(root, JsonValueKind.Object, "$");
            var format = reader.String(root, "format", "$");
            if (format != CurrentFormat)
                throw reader.Error("$.format", $"expected \"{CurrentFormat}\", found \"{format}\"");
            var policyText = reader.String(root, "emptyMaskDistance", "$");
            if (!Enum.TryParse<EmptyMaskDistance>(policyText, ignoreCase: false, out var policy) || !Enum.IsDefined(policy) || int.TryParse(policyText, out _))
                throw reader.Error("$.emptyMaskDistance", $"expected one of {string.Join(", ", Enum.GetNames<EmptyMaskDistance>())}, found \"{policyText}\"");

            var metadataElement = reader.Property(root, "metadata", "$", JsonValueKind.Object);
            var metadata = new List<KeyValuePair<string, string>>();
            foreach (var p in metadataElement.EnumerateObject())
            {
                reader.Expect(p.Value, JsonValueKind.String, $"$.metadata.{p.Name}");
                metadata.Add(new(p.Name, p.Value.GetString()!));
            }
            var overall = reader.Array(root, "overall", "$", (e, at) => ReadSummary(reader, e, at, siteRequired: false));
            var perSite = reader.Array(root, "perSite", "$", (e, at) => ReadSummary(reader, e, at, siteRequired: true));
            var cases = reader.Array(root, "cases", "$", (e, at) => ReadCase(reader, e, at));
            return new MetricsReport(cases, perSite, overall, SortedMetadata(metadata), policy);
        }
    }

    private static MetricsSummary ReadSummary(FieldReader reader, JsonElement e, string at, bool siteRequired)
    {
        reader.Expect(e, JsonValueKind.Object, at);
        var site = reader.StringOrNull(e, "site", at);
        if (siteRequired && site is null) throw reader.Error($"{at}.site", "a per-site summary needs a site, found null");
        if (!siteRequired && site is not null) throw reader.Error($"{at}.site", $"an overall summary has site null, found \"{site}\"");
        return new MetricsSummary
        {
            Site = site,
            ClassLabel = reader.ClassLabel(e, at),
            Cases = reader.Int32(e, "cases", at),
            PredictionEmptyCases = reader.Int32(e, "predictionEmptyCases", at),
            ReferenceEmptyCases = reader.Int32(e, "referenceEmptyCases", at),
            Dice = ReadStats(reader, e, "dice", at),
            Hd95 = ReadStats(reader, e, "hd95", at),
            Asd = ReadStats(reader, e, "asd", at),
            AssdMedPy = ReadStats(reader, e, "assdMedPy", at),
            Hd = ReadStats(reader, e, "hd", at),
        };
    }

    private static MetricStats ReadStats(FieldReader reader, JsonElement parent, string name, string at)
    {
        var e = reader.Property(parent, name, at, JsonValueKind.Object);
        var here = $"{at}.{name}";
        var mean = reader.NumberOrNaN(e, "mean", here);
        var std = reader.NumberOrNaN(e, "std", here);
        return new MetricStats(double.IsNaN(mean) ? null : mean, double.IsNaN(std) ? null : std,
            reader.Int32(e, "count", here), reader.Int32(e, "excluded", here));
    }

    private static CaseMetrics ReadCase(FieldReader reader, JsonElement e, string at)
    {
        reader.Expect(e, JsonValueKind.Object, at);
        var row = new CaseMetrics
        {
            CaseId = reader.String(e, "caseId", at),
            Site = reader.String(e, "site", at),
            ClassLabel = reader.ClassLabel(e, at),
            Dice = reader.NumberOrNaN(e, "dice", at),
            Hd95 = reader.NumberOrNaN(e, "hd95", at),
            Asd = reader.NumberOrNaN(e, "asd", at),
            AssdMedPy = reader.NumberOrNaN(e, "assdMedPy", at),
            Hd = reader.NumberOrNaN(e, "hd", at),
            PredictionVoxels = reader.Int64(e, "predictionVoxels", at),
            ReferenceVoxels = reader.Int64(e, "referenceVoxels", at),
            IntersectionVoxels = reader.Int64(e, "intersectionVoxels", at),
        };
        // The flags are derived from the counts; a file where they disagree was edited or corrupted.
        if (reader.Bool(e, "predictionEmpty", at) != row.PredictionEmpty)
            throw reader.Error($"{at}.predictionEmpty", $"disagrees with predictionVoxels = {row.PredictionVoxels}");
        if (reader.Bool(e, "referenceEmpty", at) != row.ReferenceEmpty)
            throw reader.Error($"{at}.referenceEmpty", $"disagrees with referenceVoxels = {row.ReferenceVoxels}");
        return row;
    }

    /// <summary>Typed access to JSON fields whose failures name the source and the field's JSON path.</summary>
    private sealed class FieldReader(string source)
    {
        public InvalidDataException Error(string field, string problem) => new($"{source}: field '{field}': {problem}");

        public void Expect(JsonElement e, JsonValueKind kind, string at)
        {
            if (e.ValueKind != kind) throw Error(at, $"expected {Describe(kind)}, found {Describe(e.ValueKind)}");
        }

        public JsonElement Property(JsonElement parent, string name, string at, JsonValueKind? kind = null)
        {
            if (!parent.TryGetProperty(name, out var value)) throw Error($"{at}.{name}", "missing");
            if (kind is { } k) Expect(value, k, $"{at}.{name}");
            return value;
        }

        public string String(JsonElement parent, string name, string at) =>
            Property(parent, name, at, JsonValueKind.String).GetString()!;

        public string? StringOrNull(JsonElement parent, string name, string at)
        {
            var e = Property(parent, name, at);
            if (e.ValueKind == JsonValueKind.Null) return null;
            Expect(e, JsonValueKind.String, $"{at}.{name}");
            return e.GetString();
        }

        public double NumberOrNaN(JsonElement parent, string name, string at)
        {
            var e = Property(parent, name, at);
            if (e.ValueKind == JsonValueKind.Null) return double.NaN;
            if (e.ValueKind != JsonValueKind.Number) throw Error($"{at}.{name}", $"expected a number or null, found {Describe(e.ValueKind)}");
            if (!e.TryGetDouble(out var v) || !double.IsFinite(v)) throw Error($"{at}.{name}", $"number {e.GetRawText()} is out of range");
            return v;
        }

        public long Int64(JsonElement parent, string name, string at)
        {
            var e = Property(parent, name, at, JsonValueKind.Number);
            if (!e.TryGetInt64(out var v) || v < 0) throw Error($"{at}.{name}", $"expected a non-negative integer, found {e.GetRawText()}");
            return v;
        }

        public int Int32(JsonElement parent, string name, string at)
        {
            var e = Property(parent, name, at, JsonValueKind.Number);
            if (!e.TryGetInt32(out var v) || v < 0) throw Error($"{at}.{name}", $"expected a non-negative integer, found {e.GetRawText()}");
            return v;
        }

        public int ClassLabel(JsonElement parent, string at)
        {
            var label = Int32(parent, "classLabel", at);
            if (label > byte.MaxValue) throw Error($"{at}.classLabel", $"expected a label in 0–255, found {label}");
            return label;
        }

        public bool Bool(JsonElement parent, string name, string at)
        {
            var e = Property(parent, name, at);
            if (e.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                throw Error($"{at}.{name}", $"expected true or false, found {Describe(e.ValueKind)}");
            return e.GetBoolean();
        }

        public T[] Array<T>(JsonElement parent, string name, string at, Func<JsonElement, string, T> read)
        {
            var e = Property(parent, name, at, JsonValueKind.Array);
            var items = new List<T>();
            int i = 0;
            foreach (var item in e.EnumerateArray()) items.Add(read(item, $"{at}.{name}[{i++}]"));
            return items.ToArray();
        }

        private static string Describe(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Null => "null",
            _ => kind.ToString(),
        };
    }

    // ---------------------------------------------------------------- CSV

    public static readonly string CasesCsvHeader =
        "case_id,site,class_label,dice,hd95,asd,assd_medpy,hd,prediction_voxels,reference_voxels,intersection_voxels,prediction_empty,reference_empty";

    /// <summary>Writes <see cref="ToCasesCsv"/> to <paramref name="path"/> atomically.</summary>
    public void WriteCasesCsv(string path) => AtomicFile.WriteAllText(path, ToCasesCsv());

    /// <summary>
    /// The rows as RFC 4180 CSV in the report's order: "\n" line ends, doubles as in the JSON, NaN as an empty field,
    /// booleans as true/false, text quoted only when it holds a comma, quote or line break.
    /// </summary>
    public string ToCasesCsv()
    {
        var inv = CultureInfo.InvariantCulture;
        var rows = Cases.Select(r => (IReadOnlyList<string?>)[
            r.CaseId, r.Site, r.ClassLabel.ToString(inv), Cell(r.Dice), Cell(r.Hd95), Cell(r.Asd), Cell(r.AssdMedPy), Cell(r.Hd),
            r.PredictionVoxels.ToString(inv), r.ReferenceVoxels.ToString(inv), r.IntersectionVoxels.ToString(inv),
            r.PredictionEmpty ? "true" : "false", r.ReferenceEmpty ? "true" : "false"]);
        return CasesCsvHeader + "\n" + Csv.Write(rows);
    }

    private static string Cell(double value) => double.IsNaN(value) ? "" : FormatDouble(value);
}
