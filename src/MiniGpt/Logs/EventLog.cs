using Tensorboard;

namespace MiniGpt.Logs;

public sealed record ScalarPoint(long Step, double Value, double WallTime);

public sealed record TextPoint(long Step, string Text);

/// <summary>
/// The scalars and texts of a run folder's TensorBoard event files (events.out.tfevents.*), merged in file
/// order. Parsed with the Event protobuf classes TorchSharp's SummaryWriter writes with.
/// </summary>
public sealed class EventLog
{
    public string Dir { get; }
    public IReadOnlyDictionary<string, List<ScalarPoint>> Scalars { get; }
    public IReadOnlyDictionary<string, List<TextPoint>> Texts { get; }
    public IReadOnlyList<string> Warnings { get; }
    public IReadOnlyList<string> Errors { get; }

    EventLog(string dir, Dictionary<string, List<ScalarPoint>> scalars, Dictionary<string, List<TextPoint>> texts, List<string> warnings, List<string> errors)
        => (Dir, Scalars, Texts, Warnings, Errors) = (dir, scalars, texts, warnings, errors);

    public static IReadOnlyList<string> EventFiles(string dir)
        => Directory.Exists(dir) ? Directory.GetFiles(dir, "events.out.tfevents.*").Order(StringComparer.Ordinal).ToList() : [];

    public static EventLog Read(string dir)
    {
        if (!Directory.Exists(dir)) throw new DataException(dir, File.Exists(dir) ? $"{dir} is a file, not a run folder" : $"run folder {dir} not found");
        var scalars = new Dictionary<string, List<ScalarPoint>>();
        var texts = new Dictionary<string, List<TextPoint>>();
        var warnings = new List<string>();
        var errors = new List<string>();
        foreach (var file in EventFiles(dir))
        {
            var r = TfRecordReader.Read(file);
            warnings.AddRange(r.Warnings);
            if (r.Error is not null) errors.Add(r.Error);
            foreach (var record in r.Records)
            {
                Event e;
                try { e = Event.Parser.ParseFrom(record); }
                catch (Google.Protobuf.InvalidProtocolBufferException ex) { errors.Add($"{file}: an event does not parse: {ex.Message}"); continue; }
                if (e.Summary is null) continue;
                foreach (var v in e.Summary.Value)
                {
                    if (v.ValueCase == Summary.Types.Value.ValueOneofCase.SimpleValue)
                        Add(scalars, v.Tag, new ScalarPoint(e.Step, v.SimpleValue, e.WallTime));
                    else if (v.Metadata?.PluginData?.PluginName == "text" && v.Tensor is { } t && t.StringVal.Count > 0)
                        Add(texts, v.Tag, new TextPoint(e.Step, t.StringVal[0].ToStringUtf8()));
                }
            }
        }
        return new EventLog(dir, scalars, texts, warnings, errors);
    }

    static void Add<T>(Dictionary<string, List<T>> map, string tag, T point)
    {
        if (!map.TryGetValue(tag, out var list)) map[tag] = list = [];
        list.Add(point);
    }

    /// <summary>
    /// A tag's points in step order as the run stands: a point at a step no later than the one before it starts the
    /// series again from there (a run resumed from its last checkpoint), so what a killed process logged past that
    /// checkpoint goes, as TensorBoard purges orphaned data; a step written twice keeps its later value.
    /// </summary>
    public IReadOnlyList<ScalarPoint> Series(string tag)
    {
        if (!Scalars.TryGetValue(tag, out var points)) return [];
        var kept = new List<ScalarPoint>(points.Count);   // in step order throughout
        foreach (var p in points)
        {
            int keep = kept.Count;
            while (keep > 0 && kept[keep - 1].Step >= p.Step) keep--;
            kept.RemoveRange(keep, kept.Count - keep);
            kept.Add(p);
        }
        return kept;
    }
}
