"""computed: the compute service (a Nova v2.1 subset) of PocketStack.

It boots real QEMU virtual machines through libvirt from images held by
imaged, with volumes from volumed attached over iSCSI. Where to start
reading:

    compute_api.py       what POST /servers checks and records before the build
    flows/launch.py      what happens between POST /servers and ACTIVE
    flows/terminate.py   what DELETE /servers/{id} undoes, in order
    domain/states.py     vm_state, task_state and which action is allowed when
    virt/driver.py       every hypervisor operation computed needs (the contract)
    virt/libvirt_driver.py  the same, done with libvirt
"""
