/* slab.c - memory for the mappings a start loads, in a few large blocks.
 *
 * A start builds one struct mc_mapping per record (catalog.c). Taken from
 * malloc one by one, a million of them cost more than everything else a
 * start does: the allocator's bookkeeping, and a page fault per 4 KiB on
 * first touch. Here they come from blocks of SLAB_BLOCK bytes, mmap'ed
 * (so already zero) and advised to use transparent huge pages (one fault
 * per 2 MiB where the kernel grants them), handed out in order.
 *
 * Nothing is given back one by one: a loaded mapping that is deleted
 * leaves its bytes in the block until the catalog closes and frees every
 * block. That bounds the waste by what the start loaded.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

#define SLAB_BLOCK ((size_t)64 << 20)

struct block {
    struct block *next;
    size_t size; /* bytes mapped, this header included */
    size_t used;
};

void *mc__slab_alloc(struct mc__slab *s, size_t n)
{
    struct block *b = s->head;

    n = (n + 15) & ~(size_t)15;
    if (!b || b->size - b->used < n) {
        size_t size = n + 64 > SLAB_BLOCK ? n + 64 : SLAB_BLOCK;
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED)
            return NULL;
        (void)madvise(p, size, MADV_HUGEPAGE); /* a hint: may be refused */
        b = p;
        b->next = s->head;
        b->size = size;
        b->used = 64; /* the header, rounded to keep 16-byte alignment */
        s->head = b;
    }
    void *out = (char *)b + b->used;
    b->used += n;
    return out;
}

void mc__slab_free_all(struct mc__slab *s)
{
    while (s->head) {
        struct block *b = s->head;

        s->head = b->next;
        munmap(b, b->size);
    }
}
