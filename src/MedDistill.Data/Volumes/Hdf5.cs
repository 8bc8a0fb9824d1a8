using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace MedDistill.Data.Volumes;

/// <summary>
/// Numeric datasets from HDF5 files, as h5py writes them — TransUNet's Synapse test volumes (<c>caseXXXX.npy.h5</c>,
/// datasets <c>image</c> and <c>label</c>). A minimal reader written from the HDF5 File Format Specification (version
/// 3.0), in C#, with no native HDF5 library.
/// <para>
/// Supported: superblock versions 0–3; object headers v1 and v2 (with continuation blocks); groups as symbol tables
/// (v1 B-tree + local heap, h5py's default) or compact link messages (libver='latest'); dataspaces of 1–4 axes;
/// fixed-point (1/2/4/8 bytes, signed or not) and IEEE floating-point (4/8 bytes) datatypes in either byte order,
/// and enums over them (h5py stores bool as an int8 enum); layouts compact, contiguous and chunked — chunks indexed by
/// a v1 B-tree (layout message v1–v3, the default) or, in layout v4, a single chunk or the implicit index — with
/// the deflate, shuffle and Fletcher-32 filters (the checksum is stripped, not verified). Chunks never written read as
/// 0 (h5py's default fill value; a custom fill value is not applied).
/// </para>
/// <para>
/// Not supported, each with a clear error: dense link storage (fractal heaps: groups of more than 8 links written
/// with libver='latest'), layout-v4 chunk indexes other than the two above (fixed/extensible array, v2 B-tree:
/// chunked datasets written with libver='latest'), filters other than the three above (szip, blosc, lz4, ...),
/// shared or committed datatypes, strings, compound and variable-length types. Checksums are not verified.
/// </para>
/// </summary>
public static class Hdf5
{
    private static readonly byte[] Signature = { 0x89, (byte)'H', (byte)'D', (byte)'F', (byte)'\r', (byte)'\n', 0x1a, (byte)'\n' };

    public static bool HasSignature(ReadOnlySpan<byte> start) => start.Length >= 8 && start[..8].SequenceEqual(Signature);

    /// <summary>
    /// Reads dataset <paramref name="name"/> ("image", or a path such as "group/image"); with no name, the file's only
    /// dataset in the root group (else an error listing them).
    /// </summary>
    public static Volume Read(string path, string? name = null, ReadLimits? limits = null)
    {
        using var file = new Hdf5File(path);
        ulong address;
        if (name is null)
        {
            var datasets = file.RootDatasets();
            if (datasets.Count != 1)
                throw new DataFormatException(path, datasets.Count == 0 ? "holds no dataset in its root group" : $"holds {datasets.Count} datasets ({string.Join(", ", datasets.Select(d => d.Name))}); name one (--key)");
            address = datasets[0].Address;
        }
        else address = file.Resolve(name);
        return file.ReadDataset(address, name ?? "", limits ?? ReadLimits.Default);
    }

    /// <summary>Names of the datasets directly in the root group.</summary>
    public static IReadOnlyList<string> DatasetNames(string path)
    {
        using var file = new Hdf5File(path);
        return file.RootDatasets().Select(d => d.Name).ToList();
    }
}

/// <summary>One open HDF5 file: the superblock's parameters and positional reads with bounds checks.</summary>
internal sealed class Hdf5File : IDisposable
{
    private const int MaxStructureBytes = 64 << 20;
    private const ushort MsgDataspace = 0x1, MsgLinkInfo = 0x2, MsgDatatype = 0x3, MsgLink = 0x6, MsgLayout = 0x8,
        MsgFilters = 0xB, MsgContinuation = 0x10, MsgSymbolTable = 0x11;

    private readonly FileStream _file;
    private readonly string _path;
    private readonly long _length;
    private readonly long _base;
    private readonly int _o, _l; // sizes of offsets and lengths
    private readonly long _root;

    private readonly record struct Message(ushort Type, byte Flags, byte[] Data);
    private readonly record struct Filter(int Id, bool Optional, uint[] ClientData);

    public Hdf5File(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        _path = path;
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        try
        {
            _length = _file.Length;
            // The superblock sits at 0 or after a user block of 512, 1024, 2048, ... bytes.
            long at = -1;
            var sig = new byte[8];
            for (long p = 0; p + 8 <= _length; p = p == 0 ? 512 : p * 2)
            {
                RandomAccess.Read(_file.SafeFileHandle, sig, p);
                if (Hdf5.HasSignature(sig)) { at = p; break; }
            }
            if (at < 0) throw new DataFormatException(path, "not an HDF5 file (no \\x89HDF signature at 0, 512, 1024, ...)");
            var sb = ReadAbsolute(at, (int)Math.Min(256, _length - at));
            int version = sb[8];
            if (version is 0 or 1)
            {
                _o = sb[13]; _l = sb[14];
                CheckSizes();
                int p = version == 0 ? 24 : 28;
                _base = (long)UInt(sb, p, _o);
                p += 4 * _o;              // base, free-space, end-of-file, driver-info addresses
                _root = (long)UInt(sb, p + _o, _o); // root symbol table entry: name offset, object header address
            }
            else if (version is 2 or 3)
            {
                _o = sb[9]; _l = sb[10];
                CheckSizes();
                _base = (long)UInt(sb, 12, _o);
                _root = (long)UInt(sb, 12 + 3 * _o, _o);
            }
            else throw new DataFormatException(path, $"HDF5 superblock version {version} is not supported (0–3 are)");
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    public void Dispose() => _file.Dispose();

    private void CheckSizes()
    {
        if (_o is not (2 or 4 or 8) || _l is not (2 or 4 or 8))
            throw new DataFormatException(_path, $"HDF5 superblock gives sizes of offsets {_o} and lengths {_l}; 2, 4 or 8 expected");
    }

    // ---- raw access ---------------------------------------------------------------------------------------------

    private static ulong UInt(ReadOnlySpan<byte> b, int at, int size) => size switch
    {
        1 => b[at],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(b[at..]),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]),
        8 => BinaryPrimitives.ReadUInt64LittleEndian(b[at..]),
        _ => throw new ArgumentOutOfRangeException(nameof(size)),
    };

    private bool Undefined(ulong address) => _o == 8 ? address == ulong.MaxValue : address == (1UL << (8 * _o)) - 1;

    private byte[] ReadAbsolute(long at, int count)
    {
        if (count < 0 || count > MaxStructureBytes) throw new DataFormatException(_path, $"an HDF5 structure at {at} claims {count} bytes");
        if (at < 0 || at + count > _length)
            throw new DataFormatException(_path, $"truncated or corrupt: {count} bytes needed at offset {at}, the file has {_length}");
        var buffer = new byte[count];
        RandomAccess.Read(_file.SafeFileHandle, buffer, at);
        return buffer;
    }

    /// <summary>Reads at a file address (relative to the base address).</summary>
    private byte[] ReadAt(ulong address, long count, string what)
    {
        if (Undefined(address)) throw new DataFormatException(_path, $"{what} has an undefined address");
        if (address > (ulong)_length) throw new DataFormatException(_path, $"{what} at address {address} lies beyond the end of the file ({_length} bytes)");
        if (count > MaxStructureBytes) throw new DataFormatException(_path, $"{what} claims {count} bytes");
        return ReadAbsolute(_base + (long)address, (int)count);
    }

    private static void Expect(byte[] b, string signature, string what, string path)
    {
        if (b.Length < 4 || Encoding.ASCII.GetString(b, 0, 4) != signature)
            throw new DataFormatException(path, $"corrupt HDF5 file: {what} lacks its \"{signature}\" signature");
    }

    // ---- object headers -----------------------------------------------------------------------------------------

    private List<Message> Messages(ulong address)
    {
        var messages = new List<Message>();
        var pending = new Queue<(ulong At, long Length, bool V2)>();
        var prefix = ReadAt(address, Math.Min(64, _length - _base - (long)address), "an object header");
        int headerFlags = 0;
        if (prefix.Length >= 4 && Encoding.ASCII.GetString(prefix, 0, 4) == "OHDR")
        {
            if (prefix[4] != 2) throw new DataFormatException(_path, $"object header version {prefix[4]} at {address} is not supported");
            headerFlags = prefix[5];
            int p = 6;
            if ((headerFlags & 0x20) != 0) p += 16; // access, modification, change, birth times
            if ((headerFlags & 0x10) != 0) p += 4;  // attribute phase-change values
            int width = 1 << (headerFlags & 3);
            long chunk = (long)UInt(prefix, p, width);
            pending.Enqueue((address + (ulong)(p + width), chunk, true));
        }
        else if (prefix.Length >= 16 && prefix[0] == 1)
        {
            long size = BinaryPrimitives.ReadUInt32LittleEndian(prefix.AsSpan(8));
            pending.Enqueue((address + 16, size, false));
        }
        else throw new DataFormatException(_path, $"corrupt HDF5 file: no object header (version 1 or \"OHDR\") at address {address}");

        int blocks = 0;
        while (pending.Count > 0)
        {
            if (++blocks > 1000) throw new DataFormatException(_path, $"object header at {address} has too many continuation blocks (a loop?)");
            var (at, length, v2) = pending.Dequeue();
            var block = ReadAt(at, length, "an object header block");
            int pos = 0, end = block.Length;
            if (v2 && blocks > 1)
            {
                Expect(block, "OCHK", "an object header continuation block", _path);
                pos = 4;
                end -= 4; // checksum
            }
            int headerBytes = v2 ? ((headerFlags & 0x04) != 0 ? 6 : 4) : 8;
            while (pos + headerBytes <= end)
            {
                ushort type; int size; byte flags;
                if (v2) { type = block[pos]; size = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(pos + 1)); flags = block[pos + 3]; }
                else { type = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(pos)); size = BinaryPrimitives.ReadUInt16LittleEndian(block.AsSpan(pos + 2)); flags = block[pos + 4]; }
                pos += headerBytes;
                if (pos + size > end) throw new DataFormatException(_path, $"corrupt HDF5 object header at {address}: a message of {size} bytes overruns its block");
                var data = block.AsSpan(pos, size).ToArray();
                pos += size;
                if (type == MsgContinuation)
                    pending.Enqueue((UInt(data, 0, _o), (long)UInt(data, _o, _l), v2));
                else if (type != 0)
                    messages.Add(new Message(type, flags, data));
            }
        }
        return messages;
    }

    // ---- groups -------------------------------------------------------------------------------------------------

    private List<(string Name, ulong Address)> Children(ulong groupAddress, string groupName)
    {
        var messages = Messages(groupAddress);
        var children = new List<(string, ulong)>();
        bool dense = false;
        foreach (var m in messages)
        {
            if (m.Type == MsgSymbolTable)
            {
                ulong btree = UInt(m.Data, 0, _o), heap = UInt(m.Data, _o, _o);
                var names = LocalHeap(heap);
                WalkGroupTree(btree, names, children, 0);
            }
            else if (m.Type == MsgLink && ParseLink(m.Data) is { } link) children.Add(link);
            else if (m.Type == MsgLinkInfo)
            {
                int p = 2 + ((m.Data[1] & 1) != 0 ? 8 : 0);
                dense |= !Undefined(UInt(m.Data, p, _o)); // fractal heap address
            }
        }
        if (dense && children.Count == 0)
            throw new DataFormatException(_path, $"group \"{groupName}\" stores its links densely (a fractal heap, written with libver='latest' for groups of more than 8 links), which this reader does not support");
        return children;
    }

    private byte[] LocalHeap(ulong address)
    {
        var h = ReadAt(address, 8 + 2 * _l + _o, "a local heap");
        Expect(h, "HEAP", "a local heap", _path);
        long size = (long)UInt(h, 8, _l);
        ulong data = UInt(h, 8 + 2 * _l, _o);
        return ReadAt(data, size, "a local heap's data");
    }

    private string HeapString(byte[] heap, ulong offset)
    {
        if (offset >= (ulong)heap.Length) throw new DataFormatException(_path, "corrupt HDF5 group: a link name lies outside its local heap");
        int start = (int)offset, end = Array.IndexOf(heap, (byte)0, start);
        return Encoding.UTF8.GetString(heap, start, (end < 0 ? heap.Length : end) - start);
    }

    private void WalkGroupTree(ulong address, byte[] heap, List<(string, ulong)> into, int depth)
    {
        if (depth > 32) throw new DataFormatException(_path, "corrupt HDF5 group B-tree (too deep)");
        var head = ReadAt(address, 8 + 2 * _o, "a group B-tree node");
        Expect(head, "TREE", "a group B-tree node", _path);
        if (head[4] != 0) throw new DataFormatException(_path, $"a group B-tree node has node type {head[4]}");
        int level = head[5], entries = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(6));
        var node = ReadAt(address, 8 + 2 * _o + entries * (_l + _o) + _l, "a group B-tree node");
        for (int i = 0; i < entries; i++)
        {
            ulong child = UInt(node, 8 + 2 * _o + i * (_l + _o) + _l, _o);
            if (level > 0) { WalkGroupTree(child, heap, into, depth + 1); continue; }
            var snodHead = ReadAt(child, 8, "a symbol table node");
            Expect(snodHead, "SNOD", "a symbol table node", _path);
            int symbols = BinaryPrimitives.ReadUInt16LittleEndian(snodHead.AsSpan(6));
            int entrySize = 2 * _o + 24;
            var snod = ReadAt(child, 8 + symbols * entrySize, "a symbol table node");
            for (int s = 0; s < symbols; s++)
            {
                int p = 8 + s * entrySize;
                into.Add((HeapString(heap, UInt(snod, p, _o)), UInt(snod, p + _o, _o)));
            }
        }
    }

    /// <summary>A hard link message's (name, object address); null for soft and external links.</summary>
    private (string, ulong)? ParseLink(byte[] d)
    {
        if (d[0] != 1) throw new DataFormatException(_path, $"link message version {d[0]} is not supported");
        int flags = d[1], p = 2;
        int linkType = 0;
        if ((flags & 0x08) != 0) linkType = d[p++];
        if ((flags & 0x04) != 0) p += 8; // creation order
        if ((flags & 0x10) != 0) p++;    // name character set
        int width = 1 << (flags & 3);
        int nameLength = (int)UInt(d, p, width);
        p += width;
        var name = Encoding.UTF8.GetString(d, p, nameLength);
        p += nameLength;
        return linkType == 0 ? (name, UInt(d, p, _o)) : null;
    }

    public ulong Resolve(string name)
    {
        ulong at = (ulong)_root;
        var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new DataFormatException(_path, $"\"{name}\" names no dataset");
        string walked = "";
        foreach (var part in parts)
        {
            var children = Children(at, walked == "" ? "/" : walked);
            var match = children.FirstOrDefault(c => c.Name == part);
            if (match.Name is null)
                throw new DataFormatException(_path, $"has no \"{(walked == "" ? "" : walked + "/")}{part}\"; {(walked == "" ? "the root group" : walked)} holds {(children.Count == 0 ? "nothing" : string.Join(", ", children.Select(c => c.Name)))}");
            at = match.Address;
            walked = walked == "" ? part : walked + "/" + part;
        }
        return at;
    }

    public List<(string Name, ulong Address)> RootDatasets() =>
        Children((ulong)_root, "/").Where(c => Messages(c.Address).Any(m => m.Type == MsgLayout)).ToList();

    // ---- datasets -----------------------------------------------------------------------------------------------

    public Volume ReadDataset(ulong address, string name, ReadLimits limits)
    {
        string where = $"{_path}[{name}]";
        var messages = Messages(address);
        Message Find(ushort type, string what) => messages.FirstOrDefault(m => m.Type == type) is { Data: not null } m
            ? ((m.Flags & 0x02) != 0 ? throw new DataFormatException(where, $"its {what} is a shared message, which is not supported") : m)
            : throw new DataFormatException(where, $"is not a dataset (no {what} message)");
        var dims = Dataspace(Find(MsgDataspace, "dataspace").Data, where);
        var format = Datatype(Find(MsgDatatype, "datatype").Data, where);
        var filters = messages.FirstOrDefault(m => m.Type == MsgFilters) is { Data: not null } f ? Filters(f.Data, where) : new List<Filter>();
        var layout = Find(MsgLayout, "data layout").Data;

        if (dims.Length is < 1 or > 4) throw new DataFormatException(where, $"a {dims.Length}-axis dataset; 1 to 4 axes are supported");
        long count = VoxelDecoding.CheckedVoxelCount(where, dims.Select(d => d > long.MaxValue ? -1 : (long)d).ToArray(), limits);
        var shape = dims.Select(d => (int)d).ToArray();
        long bytes = count * format.Size;

        // Versions 1 and 2 predate HDF5 1.6.3 and no h5py writes them; 3 is the default, 4 comes with libver='latest'.
        int version = layout[0];
        if (version is not (3 or 4)) throw new DataFormatException(where, $"data layout message version {version} is not supported (3 and 4 are)");
        int layoutClass = layout[1];
        const int p = 2;

        float[] data;
        switch (layoutClass)
        {
            case 0: // compact: the data is in the message
                {
                    int size = BinaryPrimitives.ReadUInt16LittleEndian(layout.AsSpan(p));
                    if (size != bytes || p + 2 + size > layout.Length)
                        throw new DataFormatException(where, $"compact data holds {size} bytes; shape ({string.Join(", ", shape)}) of {format} needs {bytes}");
                    data = new float[count];
                    VoxelDecoding.Decode(layout.AsSpan(p + 2, size).ToArray(), data, format);
                    break;
                }
            case 1: // contiguous
                {
                    ulong at = UInt(layout, p, _o);
                    long size = (long)UInt(layout, p + _o, _l);
                    if (size != bytes)
                        throw new DataFormatException(where, $"contiguous storage holds {size} bytes; shape ({string.Join(", ", shape)}) of {format} needs {bytes}");
                    data = new float[count];
                    if (Undefined(at)) break; // never written: the fill value, 0
                    long start = _base + (long)at;
                    if (start < 0 || start + bytes > _length)
                        throw new DataFormatException(where, $"truncated: {bytes} bytes of data at offset {start}, the file has {_length}");
                    _file.Position = start;
                    VoxelDecoding.ReadInto(_file, data, format, where, start);
                    break;
                }
            case 2:
                data = ReadChunked(layout, version, p, shape, format, filters, where, count);
                break;
            default: throw new DataFormatException(where, $"data layout class {layoutClass} (virtual?) is not supported");
        }
        return new Volume(data, shape, null, format.Type);
    }

    private float[] ReadChunked(byte[] layout, int version, int p, int[] shape, ElementFormat format, List<Filter> filters, string where, long count)
    {
        int rank = shape.Length;
        int[] chunk;
        ulong index;
        int indexType = 0; // 0: v1 B-tree, 1: single chunk, 2: implicit
        long singleSize = -1;
        uint singleMask = 0;
        if (version == 3)
        {
            int nd = layout[p++];
            index = UInt(layout, p, _o);
            p += _o;
            if (nd != rank + 1) throw new DataFormatException(where, $"chunk dimensionality {nd} does not match the {rank}-axis dataspace");
            chunk = new int[nd];
            for (int i = 0; i < nd; i++) chunk[i] = (int)BinaryPrimitives.ReadUInt32LittleEndian(layout.AsSpan(p + 4 * i));
            if (chunk[rank] != format.Size) throw new DataFormatException(where, $"chunk element size {chunk[rank]} differs from the datatype's {format.Size}");
        }
        else
        {
            int flags = layout[p], nd = layout[p + 1], width = layout[p + 2];
            p += 3;
            if (nd != rank + 1) throw new DataFormatException(where, $"chunk dimensionality {nd} does not match the {rank}-axis dataspace");
            chunk = new int[nd];
            for (int i = 0; i < nd; i++) chunk[i] = (int)UInt(layout, p + width * i, width);
            p += nd * width;
            int type = layout[p++];
            switch (type)
            {
                case 1:
                    indexType = 1;
                    if ((flags & 0x02) != 0) { singleSize = (long)UInt(layout, p, _l); singleMask = BinaryPrimitives.ReadUInt32LittleEndian(layout.AsSpan(p + _l)); p += _l + 4; }
                    break;
                case 2: indexType = 2; break;
                default:
                    throw new DataFormatException(where, $"chunk index type {type} ({type switch { 3 => "fixed array", 4 => "extensible array", 5 => "version 2 B-tree", _ => "unknown" }}) is not supported; rewrite the file with h5py's default libver='earliest' or without chunking");
            }
            index = UInt(layout, p, _o);
        }
        var chunkDims = chunk[..rank];
        long chunkElements = 1;
        foreach (var c in chunkDims)
        {
            if (c <= 0) throw new DataFormatException(where, $"chunk dimensions ({string.Join(", ", chunkDims)}) include an empty axis");
            chunkElements *= c;
        }
        if (chunkElements * format.Size > int.MaxValue / 2) throw new DataFormatException(where, $"chunks of ({string.Join(", ", chunkDims)}) elements are too large");
        int chunkBytes = (int)(chunkElements * format.Size);

        var data = new float[count];
        if (Undefined(index)) return data; // no chunk written: all fill value
        var reader = new ChunkCopier(shape, chunkDims, format, data);
        switch (indexType)
        {
            case 0:
                WalkChunkTree(index, rank, 0, (offsets, size, mask, at) =>
                    reader.Copy(offsets, Unfilter(ReadAt(at, size, "a data chunk"), filters, mask, chunkBytes, where), where));
                break;
            case 1:
                {
                    long size = singleSize >= 0 ? singleSize : chunkBytes;
                    reader.Copy(new long[rank], Unfilter(ReadAt(index, size, "the data chunk"), filters, singleMask, chunkBytes, where), where);
                    break;
                }
            case 2:
                {
                    if (filters.Count > 0) throw new DataFormatException(where, "an implicit chunk index with filters is invalid");
                    var perAxis = shape.Select((n, i) => (n + chunkDims[i] - 1) / chunkDims[i]).ToArray();
                    long total = perAxis.Aggregate(1L, (a, b) => a * b);
                    var offsets = new long[rank];
                    for (long k = 0; k < total; k++)
                    {
                        long rest = k;
                        for (int i = rank - 1; i >= 0; i--) { offsets[i] = rest % perAxis[i] * chunkDims[i]; rest /= perAxis[i]; }
                        reader.Copy(offsets, ReadAt(index + (ulong)(k * chunkBytes), chunkBytes, "a data chunk"), where);
                    }
                    break;
                }
        }
        return data;
    }

    private void WalkChunkTree(ulong address, int rank, int depth, Action<long[], long, uint, ulong> visit)
    {
        if (depth > 64) throw new DataFormatException(_path, "corrupt HDF5 chunk B-tree (too deep)");
        var head = ReadAt(address, 8 + 2 * _o, "a chunk B-tree node");
        Expect(head, "TREE", "a chunk B-tree node", _path);
        if (head[4] != 1) throw new DataFormatException(_path, $"a chunk B-tree node has node type {head[4]}");
        int level = head[5], entries = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(6));
        int keySize = 8 + 8 * (rank + 1);
        var node = ReadAt(address, 8 + 2 * _o + entries * (keySize + _o) + keySize, "a chunk B-tree node");
        for (int i = 0; i < entries; i++)
        {
            int k = 8 + 2 * _o + i * (keySize + _o);
            ulong child = UInt(node, k + keySize, _o);
            if (level > 0) { WalkChunkTree(child, rank, depth + 1, visit); continue; }
            long size = BinaryPrimitives.ReadUInt32LittleEndian(node.AsSpan(k));
            uint mask = BinaryPrimitives.ReadUInt32LittleEndian(node.AsSpan(k + 4));
            var offsets = new long[rank];
            for (int d = 0; d < rank; d++) offsets[d] = (long)BinaryPrimitives.ReadUInt64LittleEndian(node.AsSpan(k + 8 + 8 * d));
            visit(offsets, size, mask, child);
        }
    }

    /// <summary>Undoes the filter pipeline (last filter first), skipping filters whose bit is set in <paramref name="mask"/>.</summary>
    private static byte[] Unfilter(byte[] stored, List<Filter> filters, uint mask, int chunkBytes, string where)
    {
        var data = stored;
        for (int i = filters.Count - 1; i >= 0; i--)
        {
            if ((mask & (1u << i)) != 0) continue;
            var f = filters[i];
            switch (f.Id)
            {
                case 1: // deflate
                    {
                        VoxelDecoding.CheckDeflateBound(where, chunkBytes, data.Length, "a data chunk");
                        var output = new byte[chunkBytes + 4]; // + room for a Fletcher-32 checksum applied before deflate
                        int n;
                        try
                        {
                            using var z = new ZLibStream(new MemoryStream(data), CompressionMode.Decompress);
                            n = z.ReadAtLeast(output, output.Length, throwOnEndOfStream: false);
                        }
                        catch (InvalidDataException e) { throw new DataFormatException(where, $"a deflated chunk is corrupt ({e.Message})", e); }
                        data = output.AsSpan(0, n).ToArray();
                        break;
                    }
                case 2: // shuffle: byte k of every element was grouped together
                    {
                        int size = f.ClientData.Length > 0 ? (int)f.ClientData[0] : 1;
                        if (size <= 1) break;
                        int elements = data.Length / size;
                        var output = new byte[data.Length];
                        for (int b = 0; b < size; b++)
                        {
                            int from = b * elements;
                            for (int e = 0; e < elements; e++) output[e * size + b] = data[from + e];
                        }
                        data.AsSpan(elements * size).CopyTo(output.AsSpan(elements * size));
                        data = output;
                        break;
                    }
                case 3: // Fletcher-32: a 4-byte checksum appended (not verified)
                    if (data.Length < 4) throw new DataFormatException(where, "a Fletcher-32 chunk is shorter than its checksum");
                    data = data.AsSpan(0, data.Length - 4).ToArray();
                    break;
                default:
                    throw new DataFormatException(where, $"HDF5 filter {f.Id} ({f.Id switch { 4 => "szip", 5 => "nbit", 6 => "scale-offset", 32000 => "lzf", 32001 => "blosc", 32004 => "lz4", 32015 => "zstd", _ => "unknown" }}) is not supported; deflate, shuffle and fletcher32 are");
            }
        }
        if (data.Length != chunkBytes)
            throw new DataFormatException(where, $"a chunk decodes to {data.Length} bytes, expected {chunkBytes}: truncated or corrupt");
        return data;
    }

    /// <summary>Copies one decoded chunk into its place in the C-order array, clipping edge chunks.</summary>
    private sealed class ChunkCopier(int[] shape, int[] chunk, ElementFormat format, float[] destination)
    {
        public void Copy(long[] offsets, byte[] bytes, string where)
        {
            int rank = shape.Length;
            var extent = new int[rank];
            for (int d = 0; d < rank; d++)
            {
                if (offsets[d] < 0 || offsets[d] >= shape[d] || offsets[d] % chunk[d] != 0)
                    throw new DataFormatException(where, $"a chunk's offset ({string.Join(", ", offsets)}) does not fit the dataset ({string.Join(", ", shape)}) with chunks ({string.Join(", ", chunk)})");
                extent[d] = (int)Math.Min(chunk[d], shape[d] - offsets[d]);
            }
            int size = format.Size, run = extent[rank - 1];
            var index = new int[rank]; // position within the chunk, last axis fixed at 0
            while (true)
            {
                long src = 0, dst = 0;
                for (int d = 0; d < rank; d++)
                {
                    src = src * chunk[d] + index[d];
                    dst = dst * shape[d] + offsets[d] + index[d];
                }
                VoxelDecoding.Decode(bytes.AsSpan((int)(src * size), run * size), destination.AsSpan((int)dst, run), format);
                int axis = rank - 2;
                for (; axis >= 0; axis--)
                {
                    if (++index[axis] < extent[axis]) break;
                    index[axis] = 0;
                }
                if (axis < 0) return;
            }
        }
    }

    // ---- message parsers ----------------------------------------------------------------------------------------

    private ulong[] Dataspace(byte[] d, string where)
    {
        int version = d[0], rank = d[1];
        int p = version switch
        {
            1 => 8,
            2 => d[3] == 1 || d[3] == 0 ? 4 : throw new DataFormatException(where, "has a null dataspace (no data)"),
            _ => throw new DataFormatException(where, $"dataspace message version {version} is not supported"),
        };
        if (rank == 0) throw new DataFormatException(where, "is a scalar, not an array");
        var dims = new ulong[rank];
        for (int i = 0; i < rank; i++) dims[i] = UInt(d, p + i * _l, _l);
        return dims;
    }

    private static ElementFormat Datatype(byte[] d, string where)
    {
        int cls = d[0] & 0x0F;
        int bits = d[1] | d[2] << 8 | d[3] << 16;
        int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(4));
        bool big = (bits & 1) != 0;
        switch (cls)
        {
            case 0:
                {
                    bool signed = (bits & 0x08) != 0;
                    VoxelType? t = (size, signed) switch
                    {
                        (1, false) => VoxelType.UInt8, (1, true) => VoxelType.Int8,
                        (2, false) => VoxelType.UInt16, (2, true) => VoxelType.Int16,
                        (4, false) => VoxelType.UInt32, (4, true) => VoxelType.Int32,
                        (8, false) => VoxelType.UInt64, (8, true) => VoxelType.Int64,
                        _ => null,
                    };
                    return new ElementFormat(t ?? throw new DataFormatException(where, $"a {size}-byte integer type is not supported"), big);
                }
            case 1:
                if ((bits & 0x40) != 0) throw new DataFormatException(where, "VAX-order floating point is not supported");
                return size switch
                {
                    4 => new ElementFormat(VoxelType.Float32, big),
                    8 => new ElementFormat(VoxelType.Float64, big),
                    _ => throw new DataFormatException(where, $"a {size}-byte floating-point type is not supported (4 and 8 are)"),
                };
            case 8: // enum: the base type follows the 8-byte header
                return Datatype(d[8..], where);
            default:
                throw new DataFormatException(where, $"datatype class {cls} ({cls switch { 2 => "time", 3 => "string", 4 => "bitfield", 5 => "opaque", 6 => "compound", 7 => "reference", 9 => "variable-length", 10 => "array", _ => "unknown" }}) is not supported; numeric datasets only");
        }
    }

    private static List<Filter> Filters(byte[] d, string where)
    {
        int version = d[0], n = d[1];
        var list = new List<Filter>();
        int p = version == 1 ? 8 : 2;
        if (version is not (1 or 2)) throw new DataFormatException(where, $"filter pipeline message version {version} is not supported");
        for (int i = 0; i < n; i++)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(p));
            p += 2;
            int nameLength = 0;
            if (version == 1 || id >= 256) { nameLength = BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(p)); p += 2; }
            int flags = BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(p));
            int values = BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(p + 2));
            p += 4;
            p += version == 1 ? (nameLength + 7) / 8 * 8 : nameLength;
            var client = new uint[values];
            for (int v = 0; v < values; v++) client[v] = BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(p + 4 * v));
            p += 4 * values;
            if (version == 1 && values % 2 == 1) p += 4;
            list.Add(new Filter(id, (flags & 1) != 0, client));
        }
        return list;
    }
}
