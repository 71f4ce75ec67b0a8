import CLibELF
@preconcurrency import Glibc
import Lifecycle

/// Reads ELF facts (class, machine, type, interpreter, GNU build-id) with libelf, caching
/// them by file identity so a loop that execs the same binary parses it once.
final class ELFFacts {
    private struct Key: Hashable { var dev: UInt64; var ino: UInt64; var mtime: Int; var mtimeNs: Int; var size: Int }
    private var cache: [Key: ELFInfo?] = [:]

    init() { _ = elf_version(UInt32(EV_CURRENT)) }

    /// Facts about the file at `path` (typically /proc/PID/exe), nil if it is not ELF.
    func facts(_ path: String) -> ELFInfo? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let key = Key(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino), mtime: st.st_mtim.tv_sec, mtimeNs: st.st_mtim.tv_nsec, size: Int(st.st_size))
        if let hit = cache[key] { return hit }
        let info = Self.read(path)
        if cache.count > 4096 { cache.removeAll() }
        cache[key] = info
        return info
    }

    private static func read(_ path: String) -> ELFInfo? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let elf = elf_begin(fd, ELF_C_READ, nil) else { return nil }
        defer { elf_end(elf) }
        guard elf_kind(elf) == ELF_K_ELF else { return nil }
        var ehdr = GElf_Ehdr()
        guard gelf_getehdr(elf, &ehdr) != nil else { return nil }
        let cls = gelf_getclass(elf) == ELFCLASS64 ? "ELF64" : "ELF32"
        let type: String
        switch Int32(ehdr.e_type) {
        case ET_EXEC: type = "EXEC"
        case ET_DYN: type = "DYN"
        case ET_REL: type = "REL"
        case ET_CORE: type = "CORE"
        default: type = "\(ehdr.e_type)"
        }
        var interp: String?
        var buildID: String?
        var phnum = 0
        if elf_getphdrnum(elf, &phnum) == 0 {
            for i in 0..<phnum {
                var ph = GElf_Phdr()
                guard gelf_getphdr(elf, Int32(i), &ph) != nil else { continue }
                if ph.p_type == UInt32(PT_INTERP), ph.p_filesz > 0, ph.p_filesz < 4096,
                   let data = elf_getdata_rawchunk(elf, Int64(ph.p_offset), Int(ph.p_filesz), ELF_T_BYTE),
                   let base = data.pointee.d_buf {
                    let bytes = UnsafeRawBufferPointer(start: base, count: data.pointee.d_size)
                    interp = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
                if ph.p_type == UInt32(PT_NOTE), buildID == nil,
                   let data = elf_getdata_rawchunk(elf, Int64(ph.p_offset), Int(ph.p_filesz), ELF_T_NHDR) {
                    var off = 0
                    var nh = GElf_Nhdr()
                    var nameOff = 0
                    var descOff = 0
                    while true {
                        let next = gelf_getnote(data, off, &nh, &nameOff, &descOff)
                        if next == 0 { break }
                        if nh.n_type == UInt32(NT_GNU_BUILD_ID), nh.n_namesz == 4, let base = data.pointee.d_buf {
                            let d = UnsafeRawBufferPointer(start: base + descOff, count: Int(nh.n_descsz))
                            let hex = Array("0123456789abcdef".utf8)
                            var text: [UInt8] = []
                            text.reserveCapacity(d.count * 2)
                            for b in d { text.append(hex[Int(b >> 4)]); text.append(hex[Int(b & 15)]) }
                            buildID = String(decoding: text, as: UTF8.self)
                            break
                        }
                        off = next
                    }
                }
            }
        }
        return ELFInfo(elfClass: cls, machine: machineName(Int32(ehdr.e_machine)), type: type, interp: interp, buildID: buildID)
    }

    private static func machineName(_ m: Int32) -> String {
        switch m {
        case EM_X86_64: return "x86_64"
        case EM_386: return "i386"
        case EM_AARCH64: return "aarch64"
        case EM_ARM: return "arm"
        case EM_RISCV: return "riscv"
        default: return "machine-\(m)"
        }
    }
}
