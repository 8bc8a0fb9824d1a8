using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace MedDistill.Data.Tests;

/// <summary>
/// A tiny HDF5 writer for tests, written from the HDF5 File Format Specification 3.0 for the subset h5py produces by
/// default: superblock version 0 (8-byte offsets and lengths), a root group stored as a symbol table (version 1 B-tree
/// of group nodes + one symbol table node + a local heap), and datasets with version 1 object headers holding
/// dataspace (v1), datatype (v1), filter pipeline (v1) and data layout (v3) messages — contiguous, or chunked with a
/// version 1 B-tree of chunk nodes. Optionally the layout message sits in a continuation block.
/// </summary>
public sealed class Hdf5SpecWriter
{
    private const ulong Undefined = ulong.MaxValue;

    public sealed record Dataset(string Name, ulong[] Dims, byte[] Datatype, int ElementSize)
    {
        public byte[]? Contiguous { get; init; }
        public ulong? ContiguousSizeOverride { get; init; }
        public int[]? ChunkDims { get; init; }
        /// <summary>Per chunk: its offsets (one per axis) and its raw, C-ordered, full-size bytes before filtering.</summary>
        public List<(ulong[] Offsets, byte[] Bytes)> Chunks { get; init; } = new();
        public bool Shuffle { get; init; }
        public bool Deflate { get; init; }
        public bool LayoutInContinuation { get; init; }
    }

    private readonly List<Dataset> _datasets = new();

    public Hdf5SpecWriter Add(Dataset d) { _datasets.Add(d); return this; }

    // ---- datatype messages --------------------------------------------------------------------------------------

    /// <summary>Fixed-point class 0, version 1: bit 0 byte order, bit 3 signed; properties bit offset and precision.</summary>
    public static byte[] FixedPoint(int size, bool signed, bool bigEndian)
    {
        var m = new byte[16];
        m[0] = 0x10; // version 1, class 0
        m[1] = (byte)((bigEndian ? 1 : 0) | (signed ? 0x08 : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(4), (uint)size);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(10), (ushort)(8 * size));
        return m;
    }

    /// <summary>IEEE floating-point class 1, version 1, with its sign/exponent/mantissa layout.</summary>
    public static byte[] FloatingPoint(int size, bool bigEndian)
    {
        var m = new byte[24];
        m[0] = 0x11;
        m[1] = (byte)((bigEndian ? 1 : 0) | 0x20); // mantissa normalisation 2: implied leading 1
        m[2] = (byte)(size == 4 ? 31 : 63);        // sign bit location
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(4), (uint)size);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(10), (ushort)(8 * size));
        m[12] = (byte)(size == 4 ? 23 : 52); // exponent location
        m[13] = (byte)(size == 4 ? 8 : 11);  // exponent size
        m[14] = 0;                           // mantissa location
        m[15] = (byte)(size == 4 ? 23 : 52); // mantissa size
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(16), size == 4 ? 127u : 1023u);
        return m;
    }

    // ---- file assembly ------------------------------------------------------------------------------------------

    private sealed class Image
    {
        private readonly MemoryStream _s = new();
        public ulong Position => (ulong)_s.Length;
        public ulong Append(byte[] b) { ulong at = Position; _s.Write(b); Pad8(); return at; }
        private void Pad8() { while (_s.Length % 8 != 0) _s.WriteByte(0); }
        public void Patch(ulong at, ulong value) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, value); Patch(at, b); }
        public void Patch(ulong at, byte[] b) { long keep = _s.Position; _s.Position = (long)at; _s.Write(b); _s.Position = keep; }
        public byte[] ToArray() => _s.ToArray();
    }

    private static byte[] U64(ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); return b; }

    /// <summary>One v1 object header message: type (2), size (2), flags (1), reserved (3), data padded to 8.</summary>
    private static byte[] Message(ushort type, byte[] data)
    {
        int size = (data.Length + 7) / 8 * 8;
        var m = new byte[8 + size];
        BinaryPrimitives.WriteUInt16LittleEndian(m, type);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(2), (ushort)size);
        data.CopyTo(m, 8);
        return m;
    }

    /// <summary>A v1 object header: version 1, reserved, message count (2), reference count (4), size (4), 4 pad.</summary>
    private static byte[] ObjectHeader(int messageCount, byte[] messages)
    {
        var h = new byte[16 + messages.Length];
        h[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(2), (ushort)messageCount);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), (uint)messages.Length);
        messages.CopyTo(h, 16);
        return h;
    }

    public byte[] Build()
    {
        var f = new Image();
        // Superblock v0: signature, versions (0,0,0,0,0), sizes of offsets and lengths (8, 8), leaf K 4, internal K 16,
        // flags 0, then base / free-space / end-of-file / driver addresses, then the root symbol table entry.
        var sb = new byte[96];
        new byte[] { 0x89, (byte)'H', (byte)'D', (byte)'F', (byte)'\r', (byte)'\n', 0x1a, (byte)'\n' }.CopyTo(sb, 0);
        sb[13] = 8; sb[14] = 8;
        BinaryPrimitives.WriteUInt16LittleEndian(sb.AsSpan(16), 4);
        BinaryPrimitives.WriteUInt16LittleEndian(sb.AsSpan(18), 16);
        BinaryPrimitives.WriteUInt64LittleEndian(sb.AsSpan(24), 0);
        BinaryPrimitives.WriteUInt64LittleEndian(sb.AsSpan(32), Undefined);
        BinaryPrimitives.WriteUInt64LittleEndian(sb.AsSpan(48), Undefined);
        BinaryPrimitives.WriteUInt32LittleEndian(sb.AsSpan(72), 1); // root entry cache type 1: scratch holds B-tree, heap
        f.Append(sb);

        // Local heap data: "" at 0 (the root's own name), then each dataset name, NUL-terminated, 8-aligned.
        var names = _datasets.OrderBy(d => d.Name, StringComparer.Ordinal).ToList();
        var heapData = new MemoryStream();
        heapData.Write(new byte[8]);
        var nameOffsets = new Dictionary<string, ulong>();
        foreach (var d in names)
        {
            nameOffsets[d.Name] = (ulong)heapData.Length;
            heapData.Write(Encoding.ASCII.GetBytes(d.Name));
            do heapData.WriteByte(0); while (heapData.Length % 8 != 0);
        }

        // Root group object header: one symbol table message (B-tree address, heap address), patched below.
        ulong root = f.Append(ObjectHeader(1, Message(0x11, new byte[16])));
        ulong symbolTableData = root + 16 + 8;

        ulong heapDataAt = f.Append(heapData.ToArray());
        var heap = new byte[32];
        Encoding.ASCII.GetBytes("HEAP").CopyTo(heap, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(heap.AsSpan(8), (ulong)heapData.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(heap.AsSpan(16), Undefined); // no free block
        BinaryPrimitives.WriteUInt64LittleEndian(heap.AsSpan(24), heapDataAt);
        ulong heapAt = f.Append(heap);

        // Datasets first, so the symbol table node can point at their headers.
        var headers = new Dictionary<string, ulong>();
        foreach (var d in names) headers[d.Name] = WriteDataset(f, d);

        // Symbol table node: "SNOD", version 1, reserved, symbol count, entries (name offset, header address,
        // cache type 0, reserved, 16-byte scratch).
        var snod = new byte[8 + names.Count * 40];
        Encoding.ASCII.GetBytes("SNOD").CopyTo(snod, 0);
        snod[4] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(snod.AsSpan(6), (ushort)names.Count);
        for (int i = 0; i < names.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(snod.AsSpan(8 + 40 * i), nameOffsets[names[i].Name]);
            BinaryPrimitives.WriteUInt64LittleEndian(snod.AsSpan(16 + 40 * i), headers[names[i].Name]);
        }
        ulong snodAt = f.Append(snod);

        // Group B-tree, one leaf: "TREE", type 0, level 0, 1 entry, no siblings, key 0, child (the SNOD), key (last name).
        var tree = new byte[24 + 8 + 8 + 8];
        Encoding.ASCII.GetBytes("TREE").CopyTo(tree, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(tree.AsSpan(6), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(tree.AsSpan(8), Undefined);
        BinaryPrimitives.WriteUInt64LittleEndian(tree.AsSpan(16), Undefined);
        BinaryPrimitives.WriteUInt64LittleEndian(tree.AsSpan(24), 0);
        BinaryPrimitives.WriteUInt64LittleEndian(tree.AsSpan(32), snodAt);
        BinaryPrimitives.WriteUInt64LittleEndian(tree.AsSpan(40), names.Count > 0 ? nameOffsets[names[^1].Name] : 0);
        ulong treeAt = f.Append(tree);

        f.Patch(symbolTableData, treeAt);
        f.Patch(symbolTableData + 8, heapAt);
        // Root symbol table entry at 56: link name offset (56), object header address (64), cache type (72),
        // reserved (76), scratch pad (80..95) = B-tree address, local heap address.
        f.Patch(64, root);
        f.Patch(80, treeAt);
        f.Patch(88, heapAt);
        f.Patch(40, f.Position); // end-of-file address
        return f.ToArray();
    }

    private ulong WriteDataset(Image f, Dataset d)
    {
        int rank = d.Dims.Length;
        // Dataspace v1: version 1, rank, flags 0, reserved (1 + 4), then the sizes.
        var space = new byte[8 + 8 * rank];
        space[0] = 1;
        space[1] = (byte)rank;
        for (int i = 0; i < rank; i++) BinaryPrimitives.WriteUInt64LittleEndian(space.AsSpan(8 + 8 * i), d.Dims[i]);

        byte[] layout;
        byte[]? filters = null;
        if (d.ChunkDims is null)
        {
            ulong at = d.Contiguous is null ? Undefined : f.Append(d.Contiguous);
            layout = new byte[2 + 16];
            layout[0] = 3; layout[1] = 1;
            BinaryPrimitives.WriteUInt64LittleEndian(layout.AsSpan(2), at);
            BinaryPrimitives.WriteUInt64LittleEndian(layout.AsSpan(10), d.ContiguousSizeOverride ?? (ulong)(d.Contiguous?.Length ?? 0));
        }
        else
        {
            var pipeline = new List<(ushort Id, uint Value)>();
            if (d.Shuffle) pipeline.Add((2, (uint)d.ElementSize));
            if (d.Deflate) pipeline.Add((1, 6));
            if (pipeline.Count > 0)
            {
                // Filter pipeline v1: version, count, 6 reserved; per filter id, name length 0, flags 0, 1 value, value, pad.
                filters = new byte[8 + pipeline.Count * 16];
                filters[0] = 1;
                filters[1] = (byte)pipeline.Count;
                for (int i = 0; i < pipeline.Count; i++)
                {
                    int p = 8 + 16 * i;
                    BinaryPrimitives.WriteUInt16LittleEndian(filters.AsSpan(p), pipeline[i].Id);
                    BinaryPrimitives.WriteUInt16LittleEndian(filters.AsSpan(p + 6), 1);
                    BinaryPrimitives.WriteUInt32LittleEndian(filters.AsSpan(p + 8), pipeline[i].Value);
                }
            }
            var stored = new List<(ulong[] Offsets, ulong At, int Size)>();
            foreach (var (offsets, raw) in d.Chunks)
            {
                var bytes = raw;
                if (d.Shuffle) bytes = ShuffleBytes(bytes, d.ElementSize);
                if (d.Deflate)
                {
                    var ms = new MemoryStream();
                    using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(bytes);
                    bytes = ms.ToArray();
                }
                stored.Add((offsets, f.Append(bytes), bytes.Length));
            }
            // Chunk B-tree leaf: "TREE", type 1, level 0, entries, siblings; keys (size, filter mask, offsets incl. a
            // trailing 0 for the element axis) around child addresses.
            int keySize = 8 + 8 * (rank + 1);
            var tree = new byte[24 + stored.Count * (keySize + 8) + keySize];
            Encoding.ASCII.GetBytes("TREE").CopyTo(tree, 0);
            tree[4] = 1;
            BinaryPrimitives.WriteUInt16LittleEndian(tree.AsSpan(6), (ushort)stored.Count);
            BinaryPrimitives.WriteUInt64LittleEndian(tree.AsSpan(8), Undefined);
            BinaryPrimitives.WriteUInt64LittleEndian(tree.AsSpan(16), Undefined);
            for (int i = 0; i < stored.Count; i++)
            {
                int k = 24 + i * (keySize + 8);
                BinaryPrimitives.WriteUInt32LittleEndian(tree.AsSpan(k), (uint)stored[i].Size);
                for (int a = 0; a < rank; a++) BinaryPrimitives.WriteUInt64LittleEndian(tree.AsSpan(k + 8 + 8 * a), stored[i].Offsets[a]);
                BinaryPrimitives.WriteUInt64LittleEndian(tree.AsSpan(k + keySize), stored[i].At);
            }
            // The final key: one past the last chunk (its offset plus the chunk size), as the HDF5 library writes it;
            // PureHDF's lookup relies on it, where the dataset's extent would cut the last edge chunk off.
            int last = 24 + stored.Count * (keySize + 8);
            if (stored.Count > 0)
                for (int a = 0; a < rank; a++)
                    BinaryPrimitives.WriteUInt64LittleEndian(tree.AsSpan(last + 8 + 8 * a), stored[^1].Offsets[a] + (ulong)d.ChunkDims[a]);
            ulong treeAt = stored.Count == 0 ? Undefined : f.Append(tree);

            // Layout v3 chunked: version, class 2, dimensionality (rank + 1), B-tree address, chunk sizes, element size.
            layout = new byte[3 + 8 + 4 * (rank + 1)];
            layout[0] = 3; layout[1] = 2; layout[2] = (byte)(rank + 1);
            BinaryPrimitives.WriteUInt64LittleEndian(layout.AsSpan(3), treeAt);
            for (int a = 0; a < rank; a++) BinaryPrimitives.WriteUInt32LittleEndian(layout.AsSpan(11 + 4 * a), (uint)d.ChunkDims[a]);
            BinaryPrimitives.WriteUInt32LittleEndian(layout.AsSpan(11 + 4 * rank), (uint)d.ElementSize);
        }

        var messages = new List<byte[]> { Message(0x1, space), Message(0x3, d.Datatype) };
        var tail = new List<byte[]>();
        if (filters is not null) tail.Add(Message(0xB, filters));
        tail.Add(Message(0x8, layout));
        if (d.LayoutInContinuation)
        {
            var block = tail.SelectMany(m => m).ToArray();
            ulong blockAt = f.Append(block);
            messages.Add(Message(0x10, U64(blockAt).Concat(U64((ulong)block.Length)).ToArray()));
        }
        else messages.AddRange(tail);
        int count = messages.Count + (d.LayoutInContinuation ? tail.Count : 0);
        return f.Append(ObjectHeader(count, messages.SelectMany(m => m).ToArray()));
    }

    /// <summary>The shuffle filter: byte k of every element, for k = 0 .. size-1, grouped together.</summary>
    private static byte[] ShuffleBytes(byte[] data, int size)
    {
        int n = data.Length / size;
        var output = new byte[data.Length];
        for (int e = 0; e < n; e++)
            for (int b = 0; b < size; b++) output[b * n + e] = data[e * size + b];
        return output;
    }
}
