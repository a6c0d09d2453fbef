/**
 * Where the response-IP blocklist comes from: the `ip` lists (from the list manager, after each
 * swap) and the learned pool addresses (learner.ts), merged into one IpBlocklist and handed to
 * the resolver. Rebuilt off the query path whenever either side changes; the learned set comes
 * last, so an address an ip list has is reported by that list.
 */
import { createIpBlocklist, type IpBlocklist, type IpListInput } from '../blocklist/ip-blocklist.js';

export interface IpSources {
  /** The `ip` lists changed (ListManager's onIpLists). */
  setIpLists(lists: readonly IpListInput[]): void;
  /** The learned set changed. */
  setLearned(list: IpListInput | undefined): void;
  /** The blocklist built last. */
  readonly blocklist: IpBlocklist;
  /** The inputs of the blocklist built last. */
  readonly inputs: readonly IpListInput[];
}

export function createIpSources(
  initial: readonly IpListInput[],
  /** Told of each new blocklist and the inputs it was built from (worker processes build their own). */
  onBlocklist: (blocklist: IpBlocklist, inputs: readonly IpListInput[]) => void,
): IpSources {
  let ipLists = initial;
  let learned: IpListInput | undefined;
  let blocklist = createIpBlocklist(ipLists);

  function rebuild(): void {
    const inputs = learned === undefined ? ipLists : [...ipLists, learned];
    blocklist = createIpBlocklist(inputs);
    onBlocklist(blocklist, inputs);
  }

  return {
    setIpLists(lists) {
      ipLists = lists;
      rebuild();
    },
    setLearned(list) {
      learned = list;
      rebuild();
    },
    get blocklist() {
      return blocklist;
    },
    get inputs() {
      return learned === undefined ? ipLists : [...ipLists, learned];
    },
  };
}
