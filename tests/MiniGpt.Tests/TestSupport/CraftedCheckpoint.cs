using System.Buffers.Binary;
using System.Text;
using MiniGpt.IO;

namespace MiniGpt.Tests.TestSupport;

/// <summary>
/// Rewrites a checkpoint's JSON and seals it again (payload length and CRC-32C), as a crafted file would be:
/// its checksum is valid, so only the checks behind it can catch what is wrong.
/// </summary>
public static class CraftedCheckpoint
{
    /// <summary>Edits the metadata as a JSON object (config, tokenizer, scalars, states, tensor index).</summary>
    public static void EditMeta(string path, Action<System.Text.Json.Nodes.JsonObject> edit) => EditJson(path, json =>
    {
        var meta = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        edit(meta);
        return meta.ToJsonString();
    });

    public static void EditJson(string path, Func<string, string> edit)
    {
        var bytes = File.ReadAllBytes(path);
        var payload = bytes.AsSpan(32);
        int jsonLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(payload);
        var json = Encoding.UTF8.GetBytes(edit(Encoding.UTF8.GetString(payload.Slice(4, jsonLength))));
        var rest = payload[(4 + jsonLength)..].ToArray();
        var newPayload = new byte[4 + json.Length + rest.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(newPayload, (uint)json.Length);
        json.CopyTo(newPayload, 4);
        rest.CopyTo(newPayload, 4 + json.Length);
        var header = bytes[..32];
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), newPayload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), Crc32C.Compute(newPayload));
        File.WriteAllBytes(path, [.. header, .. newPayload]);
    }
}
